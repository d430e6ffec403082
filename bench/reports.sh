#!/usr/bin/env bash
# The reports benchmark (a benchmark, not a test): generates N jobs (bench/gen_jobs.py), loads them
# with a release build into a fresh SQLite file and a fresh Postgres schema, and times every canned
# report and four ad-hoc queries (a hyperparameter by key and value, in the key/value table and in
# the job row's JSON; a tag filter; a JSON member filter) and the HTML page of `sagesync report` on
# both, each run as a user would:
# `sagesync query ... --format csv > /dev/null`, the best of 3 runs, process start and output
# included. Prices (the Price List) and a bill (Cost Explorer) come from the stand-in, so the
# dollar columns and `reconcile` have figures to compute. On Postgres the tables are vacuumed and analyzed first (psql), as autovacuum leaves
# them some minutes after a load.
#
#   bench/reports.sh [N]          # default 1000000
#
# Postgres: BENCH_DATABASE_URL, or a throwaway cluster like the tests use.
# BENCH_WORK=DIR keeps the generated jobs and the SQLite file there, and the Postgres schema
# bench_reports, so a second run with the same N times the queries without loading again (it
# still runs `migrate` first, which is what an upgrade would do to such a database).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. bench/timing.sh
. scripts/emulators.sh

N=${1:-1000000}
command -v psql >/dev/null || { echo "bench/reports.sh needs psql: apt-get install postgresql-client" >&2; exit 1; }
if [ -n "${BENCH_WORK:-}" ]; then
  work=$BENCH_WORK; mkdir -p "$work"; schema=bench_reports
else
  work=$(mktemp -d /tmp/sagesync-bench.XXXXXX); schema="bench_$$"
  on_exit 'rm -rf "$work"'
fi
if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-target/release/sagesync}
if [ -z "${BENCH_DATABASE_URL:-}" ]; then start_throwaway_pg BENCH_DATABASE_URL; fi
# Prices and a bill for the dollar columns and `reconcile`, from the stand-in: the Price List of
# the generated jobs' regions, and a bill line per month, account, region and instance type they
# span (and a hosting line each, which reconcile leaves out).
start_standin
python3 bench/training_types.py us-east-1 us-west-2 eu-west-1 > "$work/offer.json"
control offer "@$work/offer.json" >/dev/null
python3 - "$work/bill.json" <<'PY'
import json, sys
sys.path.insert(0, "bench")
from gen_jobs import INSTANCE_TYPES, REGIONS
prefix = {"us-east-1": "USE1", "us-west-2": "USW2", "eu-west-1": "EUW1"}
months = ["%04d-%02d" % (y, m) for y in (2023, 2024, 2025) for m in range(1, 13)]
results = []
for i, month in enumerate(months):
    nxt = months[i + 1] if i + 1 < len(months) else "2026-01"
    groups = []
    for a in range(7):
        for r in REGIONS:
            for t in INSTANCE_TYPES:
                for kind in ("Train", "Host"):
                    groups.append({"Keys": ["%012d" % (100000000000 + a), "%s-%s:%s" % (prefix[r], kind, t)],
                                   "Metrics": {"UnblendedCost": {"Amount": "123.45", "Unit": "USD"},
                                               "UsageQuantity": {"Amount": "100.0", "Unit": "Hrs"}}})
    results.append({"TimePeriod": {"Start": month + "-01", "End": nxt + "-01"}, "Groups": groups})
json.dump({"results": results, "page_size": 500}, open(sys.argv[1], "w"))
PY
control billing "@$work/bill.json" >/dev/null
costs_env=(env AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  AWS_ENDPOINT_URL_PRICING="http://127.0.0.1:$port" AWS_ENDPOINT_URL_COST_EXPLORER="http://127.0.0.1:$port")

jobs="$work/jobs-$N.jsonl"
if [ ! -s "$jobs" ]; then
  echo "generating $N jobs..." >&2
  python3 bench/gen_jobs.py "$N" > "$jobs.tmp" && mv "$jobs.tmp" "$jobs"
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; N=$N"


HP_SQL="SELECT j.training_job_name, j.training_job_status FROM sagemaker_training_job_kv k
  JOIN sagemaker_training_job j ON j._key = k.training_job_arn
  WHERE k.kind = 'hyper_parameters' AND k.key = 'eta' AND k.value = '0.1234'"
TAG_SQL="SELECT count(*) AS jobs, sum(j.billable_time_in_seconds) AS billable_seconds
  FROM sagemaker_training_job_kv t JOIN sagemaker_training_job j ON j._key = t.training_job_arn
  WHERE t.kind = 'tags' AND t.key = 'cost-center' AND t.value = '1005'"
# ->> reads a member alike on both backends (SQLite 3.38+).
# The same hyperparameter read from the job row's JSON column: a scan of the job table, not of
# the key/value table's twenty-odd rows per job.
HP_JSON_SQL="SELECT training_job_name, training_job_status FROM sagemaker_training_job
  WHERE hyper_parameters->>'eta' = '0.1234'"
JSON_SQL="SELECT training_job_name, creation_time FROM sagemaker_training_job
  WHERE resource_config->>'InstanceType' = 'ml.p4d.24xlarge' AND training_job_status = 'Failed'"

for url in "sqlite://$work/bench.db" "$BENCH_DATABASE_URL"; do
  backend=${url%%:*}
  db=("$sagesync" --database-url "$url" --pg-schema "$schema")
  # First, as an upgrade would: `query` is a reader and refuses a schema older than this sagesync,
  # so the count below would come out empty and the million jobs be loaded again.
  "${db[@]}" migrate 2>/dev/null
  count=$("${db[@]}" query --sql "SELECT count(*) AS n FROM sagemaker_training_job" --format csv 2>/dev/null | tail -n 1 || echo 0)
  if [ "$count" = "$N" ]; then
    echo "$backend: reusing $N loaded jobs"
  else
    /usr/bin/time -f "%e %M" -o "$work/time" "${db[@]}" load "$jobs" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    read -r s kb < "$work/time"
    echo "$backend: load  ${s}s  $(python3 -c "print(f'{$N/$s:,.0f}')") jobs/s  peak RSS $((kb / 1024)) MB"
  fi
  "${costs_env[@]}" "${db[@]}" prices sync 2>/dev/null
  "${costs_env[@]}" "${db[@]}" billing sync --from 2023-01 --to 2025-12 2>/dev/null
  # Utilization as a harvest stores it, for idle-gpu and gpu-utilization: every job measured
  # (one in fifty with no data) at 5-95 % of its GPUs, sized by the next `prices sync`.
  measured=$("${db[@]}" query --sql "SELECT count(*) FROM sagemaker_training_job_metrics" --format csv 2>/dev/null | tail -n 1)
  if [ "$measured" != "$N" ]; then
    if [ "$backend" = sqlite ]; then
      python3 bench/utilization.py "$work/bench.db"
    else
      psql -X -q "$url" -c "SET search_path TO $schema; $(python3 bench/utilization.py --postgres)"
    fi
    "${costs_env[@]}" "${db[@]}" prices sync 2>/dev/null
  fi
  if [ "$backend" = postgres ]; then
    # The queries are timed on settled tables, as they are once autovacuum has been through
    # them after a load: timed while it works, the reports that scan the job table are up to
    # twice as slow on two cores (BENCHMARKS.md).
    tables=$(psql -X -At "$url" -c "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ')
      FROM pg_tables WHERE schemaname = '$schema'")
    /usr/bin/time -f "%e" -o "$work/time" psql -X -q "$url" -c "VACUUM (ANALYZE) $tables" 2>"$work/err" \
      || { cat "$work/err" >&2; exit 1; }
    echo "$backend: vacuum analyze  $(cat "$work/time")s"
  fi
  run() { # label, then query arguments
    local label=$1; shift
    local rows s
    rows=$("${db[@]}" query "$@" --format csv 2>/dev/null | wc -l)
    s=$(best_of_3 "${db[@]}" query "$@" --format csv)
    printf '%-9s %-29s %6.2fs  %8d rows\n' "$backend" "$label" "$s" "$((rows - 1))"
  }
  run cost cost
  run cost-by-tag cost-by-tag --param tag_key=team
  run failures failures
  run long-running long-running
  run security-posture security-posture
  run security-findings security-findings
  run spot-savings spot-savings
  run tuning-leaderboard tuning-leaderboard --param tuning_job=bench-tune-04242
  run "sql: hyperparameter" --sql "$HP_SQL"
  run "sql: hyperparameter (JSON)" --sql "$HP_JSON_SQL"
  run "sql: tag filter" --sql "$TAG_SQL"
  run "sql: JSON member" --sql "$JSON_SQL"
  run cost-by-account cost-by-account
  run costliest-jobs costliest-jobs
  run waste waste
  run reconcile reconcile
  run idle-gpu idle-gpu
  run gpu-utilization gpu-utilization
  run "gpu-utilization by tag" gpu-utilization --param tag_key=team
  # The HTML page (`sagesync report`), over every month the generated jobs span, grouped by account
  # and by a tag: its time, and its size.
  for group in "" "--tag-key team"; do
    # shellcheck disable=SC2086
    s=$(best_of_3 "${db[@]}" report --months 120 $group --out "$work/page.html")
    printf '%-9s %-29s %6.2fs  %8d bytes\n' "$backend" "page ${group:-(by account)}" "$s" "$(stat -c %s "$work/page.html")"
  done
done
