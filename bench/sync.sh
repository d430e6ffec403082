#!/usr/bin/env bash
# The sync benchmark (a benchmark, not a test): the stand-in SageMaker server
# (tests/fixtures/standin.py) serves N jobs and throttles calls beyond RATE per second; sagesync
# syncs them into a fresh SQLite file with --max-rps RATE. It reports the first full sync's time
# against the floor (calls ÷ RATE), then the calls of a second, unchanged sync and of one after K
# new jobs, counted by the stand-in at the HTTP level.
#
#   bench/sync.sh [N] [RATE] [K]      # defaults: 2000 200 250
#   bench/sync.sh rates [N ...]       # the no-flag first sync against per-operation quotas
#                                     # (bench/rates.sh: the ratio to the quotas' bound)
#   bench/sync.sh backlog [N] [SCALE] # Search first for a big backlog (bench/backlog.sh)
#   bench/sync.sh shared [N]          # others' throttles on a shared quota (bench/shared.sh)
#
# Peak RSS is printed for the first and the full sync: run it with a larger N (and a higher RATE
# to keep it short) to see that memory does not grow with the number of jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  rates) shift; exec bash bench/rates.sh "$@" ;;
  backlog) shift; exec bash bench/backlog.sh "$@" ;;
  shared) shift; exec bash bench/shared.sh "$@" ;;
esac
. scripts/pg.sh
. scripts/emulators.sh

N=${1:-2000}
RATE=${2:-200}
K=${3:-250}
work=$(mktemp -d /tmp/sagesync-syncbench.XXXXXX)
on_exit 'rm -rf "$work"'

cargo build --release --quiet
sagesync=$PWD/target/release/sagesync
start_standin

ops="ListTrainingJobs DescribeTrainingJob ListTags Search"
# Calls so far, one number per operation in the order of $ops.
calls() { control calls "" GET | python3 -c "import json,sys; c=json.load(sys.stdin); print(*(c.get(op, 0) for op in '$ops'.split()))"; }
# "Op n, ..." for the calls between two snapshots.
spent() {
  local -a a=($1) b=($2) names=($ops); local out="" i
  for i in 0 1 2 3; do out+="${names[$i]} $(( b[i] - a[i] )), "; done
  echo "${out%, }"
}
total() { local -a a=($1) b=($2); echo $(( b[0] + b[1] + b[2] + b[3] - a[0] - a[1] - a[2] - a[3] )); }
run_sync() {
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    /usr/bin/time -f %M -o "$work/rss" "$sagesync" --database-url "sqlite://$work/sync.db" sync --region us-east-1 \
    --endpoint-url "http://127.0.0.1:$port" --max-rps "$RATE" --concurrency 16 "$@" 2>"$work/sync.err" \
    || { cat "$work/sync.err" >&2; exit 1; }
}

control make "{\"prefix\": \"job\", \"count\": $N, \"first_epoch\": 1700000000, \"step_seconds\": 60}" >/dev/null
control faults "{\"max_rps\": $RATE}" >/dev/null
echo "machine: $(nproc) cores; stand-in allows $RATE calls/s"

c0=$(calls)
start=$(date +%s.%N); run_sync; end=$(date +%s.%N)
c1=$(calls)
first=$(spent "$c0" "$c1"); total=$(total "$c0" "$c1")
python3 -c "
t = $end - $start; floor = $total / $RATE
print(f'first sync, N=$N: {t:.1f}s for $total calls ($first); floor {floor:.1f}s; {t / floor:.2f}x the floor; peak RSS {$(cat "$work/rss") // 1024} MB')"

run_sync
c2=$(calls)
echo "second sync, unchanged: $(spent "$c1" "$c2")"

control make "{\"prefix\": \"new\", \"count\": $K, \"first_epoch\": 1800000000, \"step_seconds\": 60}" >/dev/null
run_sync
c3=$(calls)
echo "after K=$K new jobs: $(spent "$c2" "$c3") (list calls at most $(( (K + 99) / 100 + 1 )))"

start=$(date +%s.%N); run_sync --full; end=$(date +%s.%N)
c4=$(calls)
echo "full sync of $((N + K)) unchanged jobs: $(spent "$c3" "$c4"); $(python3 -c "print(f'{$end - $start:.1f}s')"); peak RSS $(( $(cat "$work/rss") / 1024 )) MB"
