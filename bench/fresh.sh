#!/usr/bin/env bash
# The canned queries right after a big write (a benchmark, not a test), as a new user meets them:
# N generated jobs of another shape than bench/reports.sh's (`gen_jobs.py --shape skewed`), loaded
# with a release build into a fresh SQLite file, then a fresh Postgres schema, with no prices, no
# bill and no utilization stored; every canned query timed (best of 3, process start and CSV
# output included) the moment `load` exits, and on Postgres again once autovacuum has been through
# the tables (up to 20 minutes later). No VACUUM or ANALYZE by hand.
#
#   bench/fresh.sh [N]          # default 1000000
#
# BENCH_BACKENDS="sqlite postgres" (the default) says which to time.
# Postgres: BENCH_DATABASE_URL, or a throwaway cluster like the tests use. BENCH_WORK=DIR keeps
# the generated jobs there. The SQLite file is deleted before Postgres is loaded, and the
# Postgres schema dropped at the end: at a million jobs each takes about 15 GB.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. bench/timing.sh

N=${1:-1000000}
command -v psql >/dev/null || { echo "bench/fresh.sh needs psql: apt-get install postgresql-client" >&2; exit 1; }
if [ -n "${BENCH_WORK:-}" ]; then
  work=$BENCH_WORK; mkdir -p "$work"
else
  work=$(mktemp -d /tmp/sagesync-fresh.XXXXXX)
  on_exit 'rm -rf "$work"'
fi
if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-target/release/sagesync}
if [ -z "${BENCH_DATABASE_URL:-}" ]; then start_throwaway_pg BENCH_DATABASE_URL; fi
schema="bench_fresh_$$"

jobs="$work/skewed-$N.jsonl"
if [ ! -s "$jobs" ]; then
  echo "generating $N jobs..." >&2
  python3 bench/gen_jobs.py --shape skewed "$N" > "$jobs.tmp" && mv "$jobs.tmp" "$jobs"
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; N=$N, gen_jobs.py --shape skewed"


time_queries() { # label of the moment
  local moment=$1 rows s q
  local queries=(cost "cost-by-tag --param tag_key=team" cost-by-account costliest-jobs waste reconcile
    failures long-running security-posture security-findings spot-savings
    "tuning-leaderboard --param tuning_job=bench-tune-00042" idle-gpu gpu-utilization
    "gpu-utilization --param tag_key=team")
  for q in "${queries[@]}"; do
    # shellcheck disable=SC2086
    rows=$("${db[@]}" query $q --format csv 2>/dev/null | wc -l)
    # shellcheck disable=SC2086
    s=$(best_of_3 "${db[@]}" query $q --format csv)
    printf '%-9s %-14s %-42s %6.2fs  %8d rows\n' "$backend" "$moment" "$q" "$s" "$((rows - 1))"
  done
}

load() {
  /usr/bin/time -f "%e %M" -o "$work/time" "${db[@]}" load "$jobs" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r s kb < "$work/time"
  echo "$backend: load  ${s}s  $(python3 -c "print(f'{$N/$s:,.0f}')") jobs/s  peak RSS $((kb / 1024)) MB"
  grep -h "changed tables" "$work/err" | sed "s/^/$backend: /" || true
}

backends=" ${BENCH_BACKENDS:-sqlite postgres} "
if [[ $backends == *" sqlite "* ]]; then
backend=sqlite
rm -f "$work/fresh.db" "$work/fresh.db-wal" "$work/fresh.db-shm"
db=("$sagesync" --database-url "sqlite://$work/fresh.db")
load
time_queries "after load"
# BENCH_AGAIN=1: once more, with the file in the page cache as the first pass left it.
if [ -n "${BENCH_AGAIN:-}" ]; then time_queries "again"; fi
rm -f "$work/fresh.db" "$work/fresh.db-wal" "$work/fresh.db-shm"
fi
[[ $backends == *" postgres "* ]] || exit 0

backend=postgres
db=("$sagesync" --database-url "$BENCH_DATABASE_URL" --pg-schema "$schema")
on_exit "psql -X -q '$BENCH_DATABASE_URL' -c 'DROP SCHEMA IF EXISTS $schema CASCADE' >/dev/null 2>&1"
load
time_queries "after load"
# Later: once no autovacuum worker has run for a minute (at most 20 minutes).
quiet=0
for _ in $(seq 1 240); do
  busy=$(psql -X -At "$BENCH_DATABASE_URL" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
  if [ "$busy" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
  [ "$quiet" -ge 12 ] && break
  sleep 5
done
psql -X -At "$BENCH_DATABASE_URL" -c "SELECT relname, last_analyze, last_autoanalyze, last_autovacuum
  FROM pg_stat_user_tables WHERE schemaname = '$schema' AND n_live_tup > 100000 ORDER BY 1" | sed "s/^/$backend: /"
time_queries "settled"
