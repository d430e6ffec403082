#!/usr/bin/env bash
# The completion benchmark (a benchmark, not a test) of issue 28: N jobs stored from Search by a
# first sync with --describe-budget 0, then a plain sync, with no flags, completes every row
# against per-operation quotas. It prints the describe attempts the stand-in received against
# the describes made, the time against the describe path's bound (N / DESCRIBE_RPS), the exit
# status, the rows left incomplete, the pace the run stored, and the calls of an unchanged
# re-sync after it.
#
#   bench/complete.sh [N]      # default 3000
#
# Quotas, calls per second: LIST_RPS=2 SEARCH_RPS=2 DESCRIBE_RPS=20 TAGS_RPS=20 (the defaults).
# THROTTLE_SHARE throttles that share of calls at random whatever sagesync's rate (others).
# SAGESYNC=path measures that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. scripts/emulators.sh

N=${1:-3000}
LIST_RPS=${LIST_RPS:-2}
SEARCH_RPS=${SEARCH_RPS:-2}
DESCRIBE_RPS=${DESCRIBE_RPS:-20}
TAGS_RPS=${TAGS_RPS:-20}
THROTTLE_SHARE=${THROTTLE_SHARE:-0}
work=$(mktemp -d /tmp/sagesync-completebench.XXXXXX)
on_exit 'rm -rf "$work"'

if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-$PWD/target/release/sagesync}
start_standin
standin_quotas
control faults "{\"throttle_share\": $THROTTLE_SHARE, \"seed\": 1}" >/dev/null
control make "{\"prefix\": \"job\", \"count\": $N, \"first_epoch\": 1700000000, \"step_seconds\": 60}" >/dev/null
echo "machine: $(nproc) cores; N=$N; quotas per second: ListTrainingJobs $LIST_RPS, Search $SEARCH_RPS," \
  "DescribeTrainingJob $DESCRIBE_RPS, ListTags $TAGS_RPS; at any rate, throttled $THROTTLE_SHARE"

db="sqlite://$work/complete.db"
run_sync() { # LOG [flags...]
  local log=$1; shift
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    "$sagesync" -v --database-url "$db" sync --region us-east-1 \
    --endpoint-url "http://127.0.0.1:$port" "$@" 2>"$log"
}
describes() { control calls "" GET | python3 -c "import json, sys; print(json.load(sys.stdin).get('DescribeTrainingJob', 0))"; }
query() { "$sagesync" --database-url "$db" query --format csv --sql "$1" | tail -1; }

run_sync "$work/first.err" --describe-budget 0
before=$(describes)
start=$(date +%s.%N); status=0; run_sync "$work/complete.err" || status=$?; end=$(date +%s.%N)
attempts=$(( $(describes) - before ))
python3 -c "
t = $end - $start; bound = $N / ($DESCRIBE_RPS * (1 - $THROTTLE_SHARE))
print(f'completion: {t:.1f}s, {t / bound:.2f} x the describe bound of {bound:.1f}s; exit status $status;',
      f'{$attempts} describe attempts for $N describes ({$attempts / $N:.3f} each)')"
echo "  rows still built from Search alone: $(query 'SELECT count(*) FROM sagemaker_training_job WHERE described_at IS NULL')"
echo "  paces stored: $(query "SELECT group_concat(operation || ' ' || round(pace, 2), ', ') FROM sagesync_pace")"
echo "  $(grep -c 'a lower pace is tried' "$work/complete.err" || true) cuts tried," \
  "$(grep -c 'higher pace is tried' "$work/complete.err" || true) probes," \
  "$(grep -c 'does this one buy its answers' "$work/complete.err" || true) checks"
run_sync "$work/again.err"
echo "unchanged re-sync: $(grep -o 'calls: [^;]*' "$work/again.err" | tail -1)"
