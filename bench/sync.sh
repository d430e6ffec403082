#!/usr/bin/env bash
# The sync benchmark (a benchmark, not a test): the stand-in SageMaker server
# (tests/fixtures/standin.py) serves N jobs and throttles calls beyond RATE per second; sagesync
# syncs them into a fresh SQLite file with --max-rps RATE. It reports the first full sync's time
# against the floor (calls ÷ RATE), then the calls of a second, unchanged sync and of one after K
# new jobs, counted by the stand-in at the HTTP level.
#
#   bench/sync.sh [N] [RATE] [K]      # defaults: 2000 200 250
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh

N=${1:-2000}
RATE=${2:-200}
K=${3:-250}
work=$(mktemp -d /tmp/sagesync-syncbench.XXXXXX)
on_exit 'rm -rf "$work"'

cargo build --release --quiet
sagesync=$PWD/target/release/sagesync
port=$(free_port)
python3 tests/fixtures/standin.py "$port" > "$work/standin.out" &
standin=$!
on_exit "kill $standin 2>/dev/null || true"
for _ in $(seq 1 50); do grep -q ready "$work/standin.out" 2>/dev/null && break; sleep 0.1; done

control() { curl -sf -X "${3:-POST}" "http://127.0.0.1:$port/control/$1" -d "${2:-}"; }
calls() { control calls "" GET | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c.get("ListTrainingJobs",0), c.get("DescribeTrainingJob",0), c.get("ListTags",0))'; }
run_sync() {
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    "$sagesync" --database-url "sqlite://$work/sync.db" sync --region us-east-1 \
    --endpoint-url "http://127.0.0.1:$port" --max-rps "$RATE" --concurrency 16 2>"$work/sync.err" \
    || { cat "$work/sync.err" >&2; exit 1; }
}

control make "{\"prefix\": \"job\", \"count\": $N, \"first_epoch\": 1700000000, \"step_seconds\": 60}" >/dev/null
control faults "{\"max_rps\": $RATE}" >/dev/null
echo "machine: $(nproc) cores; stand-in allows $RATE calls/s"

read -r l0 d0 t0 < <(calls)
start=$(date +%s.%N); run_sync; end=$(date +%s.%N)
read -r l1 d1 t1 < <(calls)
total=$(( (l1 - l0) + (d1 - d0) + (t1 - t0) ))
python3 -c "
t = $end - $start; floor = $total / $RATE
print(f'first sync, N=$N: {t:.1f}s for $total calls (ListTrainingJobs $((l1 - l0)), DescribeTrainingJob $((d1 - d0)), ListTags $((t1 - t0))); floor {floor:.1f}s; {t / floor:.2f}x the floor')"

run_sync
read -r l2 d2 t2 < <(calls)
echo "second sync, unchanged: ListTrainingJobs $((l2 - l1)), DescribeTrainingJob $((d2 - d1)), ListTags $((t2 - t1))"

control make "{\"prefix\": \"new\", \"count\": $K, \"first_epoch\": 1800000000, \"step_seconds\": 60}" >/dev/null
run_sync
read -r l3 d3 t3 < <(calls)
echo "after K=$K new jobs: ListTrainingJobs $((l3 - l2)) (at most $(( (K + 99) / 100 + 1 ))), DescribeTrainingJob $((d3 - d2)), ListTags $((t3 - t2))"
