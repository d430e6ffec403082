#!/usr/bin/env bash
# The Price List benchmark (a benchmark, not a test): `sagesync prices sync` of 10 regions, each
# offering every SageMaker training instance type (bench/training_types.py) and, beside each, its
# SpotTraining, Hosting, Processing and Notebook products and a storage product per component, as
# the stand-in serves them (tests/fixtures/standin.py). Prints the calls, the prices stored and
# the time; with LATENCY_MS (default 0), each call takes that long first, as a distant endpoint.
#
#   bench/prices.sh            # LATENCY_MS=150 bench/prices.sh
#
# SAGESYNC=path measures that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. scripts/emulators.sh

REGIONS=(us-east-1 us-east-2 us-west-1 us-west-2 eu-west-1 eu-west-2 eu-central-1 ap-northeast-1 ap-southeast-1 ap-southeast-2)
LATENCY_MS=${LATENCY_MS:-0}
work=$(mktemp -d /tmp/sagesync-pricebench.XXXXXX)
on_exit 'rm -rf "$work"'
if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-$PWD/target/release/sagesync}
start_standin
python3 bench/training_types.py "${REGIONS[@]}" > "$work/offer.json"
control offer "@$work/offer.json" >/dev/null
control faults "{\"latency_ms\": $LATENCY_MS}" >/dev/null
types=$(python3 -c "import sys; sys.path.insert(0, 'bench'); import training_types; print(len(training_types.types()))")
echo "machine: $(nproc) cores; ${#REGIONS[@]} regions x $types training instance types; latency ${LATENCY_MS} ms a call"
args=()
for r in "${REGIONS[@]}"; do args+=(--region "$r"); done
AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
AWS_ENDPOINT_URL_PRICING="http://127.0.0.1:$port" \
  /usr/bin/time -f "%e" -o "$work/time" \
  "$sagesync" --database-url "sqlite://$work/prices.db" prices sync "${args[@]}" 2>"$work/err" \
  || { cat "$work/err" >&2; exit 1; }
cat "$work/err"
echo "prices sync: $(cat "$work/time")s, GetProducts calls: $(control calls '' GET | python3 -c "import json, sys; print(json.load(sys.stdin).get('GetProducts', 0))")"
