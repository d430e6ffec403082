#!/usr/bin/env bash
# The backlog benchmark (a benchmark, not a test): a first sync of N jobs, with no flags, against
# per-operation quotas (tests/fixtures/standin.py throttles each operation beyond its own rate),
# then the same first sync describing every job as it lists (--no-search). It reports:
# - when every job is in the table (rows from Search allowed), for both: the Search path must
#   get there in at most 1/8 of the time of the describe-per-job path;
# - the calls until every row is complete: at most N describes + N/100 Search + the list pages;
# - the calls of an unchanged re-sync afterwards: at most one list call.
#
#   bench/backlog.sh [N] [SCALE]      # defaults: 20000 1
#   IN_TABLE_ONLY=1 bench/backlog.sh 100000 1
#                                     # only the first step, with --describe-budget 0: when every
#                                     # job is in the table, on the quotas as they are
#
# Quotas, calls per second, each multiplied by SCALE: LIST_RPS=2 SEARCH_RPS=2 DESCRIBE_RPS=20
# TAGS_RPS=20. Every time scales as 1/SCALE and every call count stays, so SCALE=10 measures
# the ratio at 100,000 jobs in twenty minutes instead of three hours. NO_SEARCH=0 skips the
# describe-per-job run; SAGESYNC=path measures that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. scripts/emulators.sh

N=${1:-20000}
SCALE=${2:-1}
rate() { python3 -c "print($1 * $SCALE)"; }
LIST_RPS=$(rate "${LIST_RPS:-2}")
SEARCH_RPS=$(rate "${SEARCH_RPS:-2}")
DESCRIBE_RPS=$(rate "${DESCRIBE_RPS:-20}")
TAGS_RPS=$(rate "${TAGS_RPS:-20}")
work=$(mktemp -d /tmp/sagesync-backlogbench.XXXXXX)
on_exit 'rm -rf "$work"'

if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-$PWD/target/release/sagesync}
start_standin
standin_quotas
control make "{\"prefix\": \"job\", \"count\": $N, \"first_epoch\": 1700000000, \"step_seconds\": 60}" >/dev/null
echo "machine: $(nproc) cores; N=$N; quotas per second: ListTrainingJobs $LIST_RPS, Search $SEARCH_RPS," \
  "DescribeTrainingJob $DESCRIBE_RPS, ListTags $TAGS_RPS"

run_sync() { # DB LOG [flags...]
  local db=$1 log=$2; shift 2
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    "$sagesync" --database-url "sqlite://$work/$db.db" sync --region us-east-1 \
    --endpoint-url "http://127.0.0.1:$port" "$@" 2>"$log" || { cat "$log" >&2; exit 1; }
}
calls_of() { grep -o 'calls: [^;]*' "$1" | tail -1 | cut -c8-; }
# Calls of a summary line, summed.
sum_calls() { calls_of "$1" | python3 -c "import re, sys; print(sum(map(int, re.findall(r'\d+', sys.stdin.read()))))"; }

if [ "${IN_TABLE_ONLY:-0}" = 1 ]; then
  run_sync search "$work/search.err" --describe-budget 0
  echo "Search path: $(grep -o 'every job Search returned is stored ([^)]*)' "$work/search.err");" \
    "calls of the run (its listing included): $(calls_of "$work/search.err")"
  exit 0
fi
start=$(date +%s.%N); run_sync search "$work/search.err"; end=$(date +%s.%N)
in_table=$(grep -o 'stored ([0-9]* in [0-9.]*s)' "$work/search.err" | grep -o '[0-9.]*s)' | tr -d 's)')
echo "Search path: every job in the table after ${in_table}s; every row complete after" \
  "$(python3 -c "print(f'{$end - $start:.1f}')")s; calls: $(calls_of "$work/search.err")"
python3 -c "
import re
n = $N; made = $(sum_calls "$work/search.err")
pages = int(re.search(r'ListTrainingJobs (\d+)', '$(calls_of "$work/search.err")').group(1))
print(f'  calls until every row is complete: {made}; N + N/100 + list pages = {n + -(-n // 100) + pages}')"
run_sync search "$work/again.err"
echo "unchanged re-sync: $(calls_of "$work/again.err")"

if [ "${NO_SEARCH:-1}" != 0 ]; then
  start=$(date +%s.%N); run_sync nosearch "$work/nosearch.err" --no-search; end=$(date +%s.%N)
  echo "describe-per-job path (--no-search): every job in the table after" \
    "$(python3 -c "print(f'{$end - $start:.1f}')")s; calls: $(calls_of "$work/nosearch.err")"
  python3 -c "print(f'  Search path / describe-per-job path, time until every job is in the table: {$in_table / ($end - $start):.3f}')"
fi
