#!/usr/bin/env bash
# The shared-quota benchmark (a benchmark, not a test): other clients of the account throttle a
# share of the calls whatever sagesync's rate. The stand-in (tests/fixtures/standin.py) has no
# quotas here; it throttles THROTTLE_SHARE of all calls at random and answers ERROR_SHARE with
# 500. sagesync syncs N jobs in each of two regions with no flags; then the faults stop and a
# clean sync into another file gives the reference. It prints the time, the exit status, the jobs
# stored, and whether the two inventories are equal.
#
#   bench/shared.sh [N]      # default 600; THROTTLE_SHARE=0.33 ERROR_SHARE=0.05
#
# SAGESYNC=path measures that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. scripts/emulators.sh

N=${1:-600}
THROTTLE_SHARE=${THROTTLE_SHARE:-0.33}
ERROR_SHARE=${ERROR_SHARE:-0.05}
work=$(mktemp -d /tmp/sagesync-sharedbench.XXXXXX)
on_exit 'rm -rf "$work"'

if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-$PWD/target/release/sagesync}
start_standin
control regions "{\"regions\": [\"eu-west-1\", \"eu-west-2\"], \"count\": $N, \"first_epoch\": 1700000000}" >/dev/null
echo "machine: $(nproc) cores; N=$N jobs in each of 2 regions; no quotas; at any rate, throttled" \
  "$THROTTLE_SHARE, 500 $ERROR_SHARE; sagesync run with no flags"

run_sync() { # DB LOG
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    "$sagesync" --database-url "sqlite://$work/$1.db" sync --region eu-west-1 --region eu-west-2 \
    --endpoint-url "http://127.0.0.1:$port" 2>"$2"
}
# Every column but when it was synced, each row in order.
inventory() {
  "$sagesync" --database-url "sqlite://$work/$1.db" query --format csv --sql \
    "SELECT * FROM sagemaker_training_job ORDER BY training_job_arn" \
    | python3 -c "
import csv, sys
rows = list(csv.reader(sys.stdin))
drop = {i for i, c in enumerate(rows[0]) if c in ('synced_at', 'described_at')}
for r in rows:
    print([v for i, v in enumerate(r) if i not in drop])"
}

control faults "{\"throttle_share\": $THROTTLE_SHARE, \"error_share\": $ERROR_SHARE, \"seed\": 1}" >/dev/null
start=$(date +%s.%N)
status=0; run_sync shared "$work/shared.err" || status=$?
end=$(date +%s.%N)
stored=$("$sagesync" --database-url "sqlite://$work/shared.db" query --format csv \
  --sql 'SELECT count(*) AS n FROM sagemaker_training_job' | tail -1)
echo "shared quota: $(python3 -c "print(f'{$end - $start:.1f}s')"), exit status $status," \
  "$stored of $((2 * N)) stored; $(grep -o 'calls: [^;]*' "$work/shared.err" | tail -1)"
control faults '{"throttle_share": 0, "error_share": 0}' >/dev/null
run_sync clean "$work/clean.err"
if [ "$(inventory shared | md5sum)" = "$(inventory clean | md5sum)" ]; then
  echo "  the inventory equals a clean sync's"
else
  echo "  the inventory differs from a clean sync's"
fi
