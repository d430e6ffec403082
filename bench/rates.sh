#!/usr/bin/env bash
# The rate benchmark (a benchmark, not a test): a first sync with no flags at all against
# per-operation quotas, the way a new user runs it. The stand-in (tests/fixtures/standin.py)
# throttles each operation beyond its own rate; sagesync has to find each rate by itself. The
# bound the quotas set is, over the operations, the largest of (calls made ÷ that operation's
# rate); the goal is a first sync within 1.1× of it.
#
#   bench/rates.sh [N ...]      # defaults: 600 20000 (each N is a region of N jobs of its own)
#
# Quotas, calls per second: LIST_RPS=2 SEARCH_RPS=2 DESCRIBE_RPS=20 TAGS_RPS=20 (the defaults).
# THROTTLE_SHARE=0.2 also throttles that share of calls at random whatever sagesync's rate, after
# they spent their quota's token (other clients of the account); ERROR_SHARE the same with 500s.
# The bound is then that of the answered calls: each rate times (1 - THROTTLE_SHARE - ERROR_SHARE).
# SAGESYNC=path measures that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. scripts/emulators.sh

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(600 20000)
LIST_RPS=${LIST_RPS:-2}
SEARCH_RPS=${SEARCH_RPS:-2}
DESCRIBE_RPS=${DESCRIBE_RPS:-20}
TAGS_RPS=${TAGS_RPS:-20}
THROTTLE_SHARE=${THROTTLE_SHARE:-0}
ERROR_SHARE=${ERROR_SHARE:-0}
work=$(mktemp -d /tmp/sagesync-ratebench.XXXXXX)
on_exit 'rm -rf "$work"'

if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-$PWD/target/release/sagesync}
start_standin
standin_quotas
control faults "{\"throttle_share\": $THROTTLE_SHARE, \"error_share\": $ERROR_SHARE}" >/dev/null
echo "machine: $(nproc) cores; quotas per second: ListTrainingJobs $LIST_RPS, Search $SEARCH_RPS," \
  "DescribeTrainingJob $DESCRIBE_RPS, ListTags $TAGS_RPS; at any rate, throttled $THROTTLE_SHARE," \
  "500 $ERROR_SHARE; sagesync run with no flags"

regions=(eu-west-1 eu-west-2 eu-west-3 eu-north-1 eu-south-1 eu-central-1)
i=0
for n in "${sizes[@]}"; do
  region=${regions[$i]}; i=$((i + 1))
  control regions "{\"regions\": [\"$region\"], \"count\": $n, \"first_epoch\": 1700000000}" >/dev/null
  start=$(date +%s.%N)
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    "$sagesync" --database-url "sqlite://$work/$region.db" sync --region "$region" \
    --endpoint-url "http://127.0.0.1:$port" 2>"$work/sync.err" \
    || { cat "$work/sync.err" >&2; exit 1; }
  end=$(date +%s.%N)
  stored=$("$sagesync" --database-url "sqlite://$work/$region.db" query --format csv \
    --sql 'SELECT count(*) AS n FROM sagemaker_training_job' | tail -1)
  answered=$(control calls_by_region "" GET | python3 -c "
import json, sys
calls = json.load(sys.stdin).get('$region', {})
print(', '.join(f'{op} {n}' for op, n in sorted(calls.items())))")
  echo "first sync, N=$n: $(python3 -c "print(f'{$end - $start:.1f}s')"), $stored stored; calls answered, throttled ones included: $answered"
  grep -o 'calls: [^;]*' "$work/sync.err" | tail -1 | python3 -c "
import re, sys
line = sys.stdin.read()
made = {op: int(n) for op, n in re.findall(r'(\w+) (\d+)', line)}
answered = 1 - $THROTTLE_SHARE - $ERROR_SHARE
rates = {'ListTrainingJobs': $LIST_RPS * answered, 'Search': $SEARCH_RPS * answered, 'DescribeTrainingJob': $DESCRIBE_RPS * answered, 'ListTags': $TAGS_RPS * answered}
bound, op = max((made.get(op, 0) / r, op) for op, r in rates.items())
t = $end - $start
print(f'  calls sagesync made: {line.strip()[7:]}; bound {bound:.1f}s (set by {op}); {t / bound:.2f}x the bound')
"
done
