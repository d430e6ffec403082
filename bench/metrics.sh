#!/usr/bin/env bash
# The utilization harvest benchmark (a benchmark, not a test) of issue 29: N ended jobs stored by
# a first sync from Search (--describe-budget 0, no harvest), then `metrics sync` reads each
# host's figures from the stand-in's CloudWatch (RPC v2 CBOR) under a GetMetricData quota. It
# prints the calls, the metrics requested and their price, and the time against the bound the
# quota sets (calls / CW_RPS).
#
#   bench/metrics.sh [N]      # default 100000
#
# CW_RPS=50 the GetMetricData quota, calls a second; HOSTS=1 instances a job (ml.g5.12xlarge,
# 4 GPUs: six queries a host). SAGESYNC=path measures that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. scripts/emulators.sh

N=${1:-100000}
CW_RPS=${CW_RPS:-50}
HOSTS=${HOSTS:-1}
work=$(mktemp -d /tmp/sagesync-metricsbench.XXXXXX)
on_exit 'rm -rf "$work"'

if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-$PWD/target/release/sagesync}
moto_venv
start_standin
# Ended jobs of the last 11 days, one every 10 s (a minute's resolution), 4.5 minutes each.
now=$(date +%s)
control make "{\"prefix\": \"job\", \"count\": $N, \"first_epoch\": $((now - N * 10 - 3600)), \"step_seconds\": 10,
  \"resources\": {\"InstanceType\": \"ml.g5.12xlarge\", \"InstanceCount\": $HOSTS, \"VolumeSizeInGB\": 30}}" >/dev/null
control utilization '{"default": [[60, 90], [40, 50], [800, 900], [30, 35]]}' >/dev/null
control quotas "{\"GetMetricData\": $CW_RPS}" >/dev/null
echo "machine: $(nproc) cores; N=$N jobs of $HOSTS ml.g5.12xlarge; GetMetricData quota $CW_RPS calls/s"

db="sqlite://$work/metrics.db"
env_aws() {
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
  AWS_ENDPOINT_URL_CLOUDWATCH="http://127.0.0.1:$port" SAGESYNC_NO_PRICES=1 "$@"
}
printf 'instance_type,region,usd_per_hour,gpus,vcpus\nml.g5.12xlarge,*,7.09,4,48\n' > "$work/sizes.csv"
"$sagesync" --database-url "$db" prices load "$work/sizes.csv" 2>/dev/null
env_aws "$sagesync" --database-url "$db" sync --region us-east-1 --endpoint-url "http://127.0.0.1:$port" \
  --describe-budget 0 --no-metrics 2>"$work/sync.err"
start=$(date +%s.%N); status=0
env_aws "$sagesync" --database-url "$db" metrics sync --region us-east-1 --endpoint-url "http://127.0.0.1:$port" \
  2>"$work/metrics.err" || status=$?
end=$(date +%s.%N)
calls=$(control calls "" GET | python3 -c "import json, sys; print(json.load(sys.stdin).get('GetMetricData', 0))")
grep 'utilization:' "$work/metrics.err" || tail -5 "$work/metrics.err"
python3 -c "
t = $end - $start; answered = $N * $HOSTS * 6 / 500; bound = answered / $CW_RPS
print(f'harvest: {t:.1f}s for $N jobs, {t / bound:.2f} x the bound of {bound:.1f}s ({answered:.0f} calls at $CW_RPS/s);',
      f'{$calls} GetMetricData requests received (throttled ones too); exit status $status')"
