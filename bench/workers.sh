#!/usr/bin/env bash
# The workers benchmark (a benchmark, not a test): the stand-in SageMaker server serves SCOPES
# regions of JOBS jobs each, every region throttled beyond RATE calls per second of its own, and
# 1, 2 and 4 `sagesync sync` processes share one round of them on one Postgres database (a fresh
# schema per round). For each round: the wall time until the last worker ends, the calls the
# stand-in received (equal for every k when each scope is synced exactly once), and the scopes
# each worker synced. Then one more round of 3 workers, one of them killed with -9 after a second:
# the others finish its scopes and the stored jobs are all there. Last, one process syncs MANY
# scopes of 3 jobs each into SQLite, and a tenth of that, for peak memory against the number of
# scopes.
#
#   bench/workers.sh [SCOPES] [JOBS] [RATE] [MANY]     # defaults: 120 20 20 3200
#
# Each worker runs with --max-rps RATE, the scopes' known rate: what the SDK's adaptive rate does
# without it is the sync benchmark's subject, not this one's.
#
# Postgres: BENCH_DATABASE_URL, or a throwaway cluster like the tests use. SAGESYNC=path measures
# that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. scripts/emulators.sh

SCOPES=${1:-120}
JOBS=${2:-20}
RATE=${3:-20}
MANY=${4:-3200}
work=$(mktemp -d /tmp/sagesync-workers.XXXXXX)
on_exit 'rm -rf "$work"'
if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-$PWD/target/release/sagesync}
if [ -z "${BENCH_DATABASE_URL:-}" ]; then start_throwaway_pg BENCH_DATABASE_URL; fi

regions=$(python3 -c "print(' '.join('r%04d' % i for i in range($SCOPES)))")
region_args=$(for r in $regions; do printf -- '--region %s ' "$r"; done)
echo "machine: $(nproc) cores; $SCOPES scopes x $JOBS jobs, $RATE calls/s per scope"

start_regions() { # regions (JSON list), jobs per region, max_rps (0: none): a stand-in serving them
  start_standin
  curl -sf -X POST "http://127.0.0.1:$port/control/regions" \
    -d "{\"regions\": $1, \"count\": $2, \"first_epoch\": 1700000000, \"max_rps\": $3}" >/dev/null
}
# env execs the command, so that $! of a background one is sagesync itself (kill -9 reaches it).
as_bench=(env AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null)

round() { # workers, schema, [kill]: prints wall time, calls, scopes per worker
  local k=$1 schema=$2 kill=${3:-} pids=() i
  start_regions "$(python3 -c "import json; print(json.dumps('$regions'.split()))")" "$JOBS" "$RATE"
  local db=("$sagesync" --database-url "$BENCH_DATABASE_URL" --pg-schema "$schema")
  "${db[@]}" migrate 2>/dev/null
  local start end
  start=$(date +%s.%N)
  for i in $(seq 1 "$k"); do
    # shellcheck disable=SC2086
    "${as_bench[@]}" "${db[@]}" sync --endpoint-url "http://127.0.0.1:$port" --max-rps "$RATE" $region_args 2>"$work/worker-$i.err" &
    pids+=($!)
  done
  if [ -n "$kill" ]; then sleep 1; kill -9 "${pids[0]}" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do wait "$p" || true; done
  end=$(date +%s.%N)
  local calls per stored
  calls=$(curl -sf "http://127.0.0.1:$port/control/calls" | python3 -c "import json,sys; c=json.load(sys.stdin); print(sum(c.values()), dict(sorted(c.items())))")
  per=$(for i in $(seq 1 "$k"); do grep -c ": listed " "$work/worker-$i.err" || true; done | paste -sd/)
  stored=$("${db[@]}" query --sql "SELECT count(*) AS n FROM sagemaker_training_job" --format csv | tail -n 1)
  kill "$standin" 2>/dev/null || true; wait "$standin" 2>/dev/null || true
  printf '%s workers%s: %6.1fs  jobs stored %s of %s  scopes per worker %s  calls %s\n' "$k" "${kill:+ (one killed at 1 s)}" \
    "$(python3 -c "print($end - $start)")" "$stored" "$((SCOPES * JOBS))" "$per" "$calls"
  if command -v psql >/dev/null; then psql -q "$BENCH_DATABASE_URL" -c "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true; fi
}

for k in 1 2 4; do round "$k" "bench_workers_$$_$k"; done
round 3 "bench_workers_$$_kill" kill

many() { # scopes: one process, SQLite
  local n=$1 list
  list=$(python3 -c "import json; print(json.dumps(['m%05d' % i for i in range($n)]))")
  start_regions "$list" 3 0
  local args
  args=$(python3 -c "print(' '.join('--region m%05d' % i for i in range($n)))")
  # shellcheck disable=SC2086
  "${as_bench[@]}" /usr/bin/time -f "%e %M" -o "$work/time" "$sagesync" --database-url "sqlite://$work/many-$n.db" \
    sync --endpoint-url "http://127.0.0.1:$port" $args 2>"$work/many.err" || true
  read -r s kb < "$work/time"
  local stored
  stored=$("$sagesync" --database-url "sqlite://$work/many-$n.db" query --sql "SELECT count(*) AS n FROM sagemaker_training_job" --format csv | tail -n 1)
  kill "$standin" 2>/dev/null || true; wait "$standin" 2>/dev/null || true
  printf 'one process, %5d scopes of 3 jobs: %6.1fs  peak RSS %4d MB  jobs stored %s\n' "$n" "$s" "$((kb / 1024))" "$stored"
}
many $((MANY / 10))
many "$MANY"
