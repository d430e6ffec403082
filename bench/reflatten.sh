#!/usr/bin/env bash
# The re-flatten benchmark (a benchmark, not a test): loads N generated jobs with a release build,
# marks the rows as made by an older flattener, and times `sagesync migrate` re-deriving every
# row from its raw, on SQLite and Postgres, for two kinds of upgrade (below); 1.5 s into each, a
# `sagesync query cost` is timed too: a reader never waits for the upgrade.
#
#   bench/reflatten.sh [N]     # default 100000
#
# Postgres: BENCH_DATABASE_URL, or a throwaway cluster like the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh

N=${1:-100000}
work=$(mktemp -d /tmp/sagesync-bench.XXXXXX)
on_exit 'rm -rf "$work"'
# SAGESYNC=PATH measures that binary instead of a fresh release build.
if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-target/release/sagesync}
if [ -z "${BENCH_DATABASE_URL:-}" ]; then start_throwaway_pg BENCH_DATABASE_URL; fi

python3 bench/gen_jobs.py "$N" > "$work/jobs.jsonl"
schema="bench_rf_$$"
# Two upgrades: one whose mapping gives every row a new value in one column (a JSON column the
# flattener fills, emptied here as an older flattener might have left it), and one whose mapping
# changed nothing these rows hold (only the stored version is lowered).
changed="UPDATE sagemaker_training_job SET algorithm_specification = NULL"
lower="UPDATE sagesync_meta SET value = '1' WHERE key = 'flatten_version'"
sql() {
  case "$1" in
    sqlite*) python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()" "$work/bench.db" "$2" ;;
    *) psql -q "$1" -c "SET search_path TO $schema; $2" ;;
  esac
}
for url in "sqlite://$work/bench.db" "$BENCH_DATABASE_URL"; do
  "$sagesync" --database-url "$url" --pg-schema "$schema" load "$work/jobs.jsonl" 2>/dev/null
  for upgrade in "one column of every row" "nothing these rows hold"; do
    if [ "$upgrade" = "one column of every row" ]; then sql "$url" "$changed"; fi
    sql "$url" "$lower"
    /usr/bin/time -f "%e %M" -o "$work/time" "$sagesync" --database-url "$url" --pg-schema "$schema" migrate 2>/dev/null &
    migrating=$!
    sleep 1.5
    /usr/bin/time -f "%e" -o "$work/query-time" "$sagesync" --database-url "$url" --pg-schema "$schema" \
      query cost --format csv >/dev/null 2>"$work/query-err" || { cat "$work/query-err" >&2; exit 1; }
    wait "$migrating"
    read -r s kb < "$work/time"
    echo "re-derive $N rows, ${url%%:*}, mapping changed $upgrade: ${s}s" \
      "$(python3 -c "print(f'{$N/$s:,.0f}')") rows/s  peak RSS $((kb / 1024)) MB;" \
      "query cost during it: $(cat "$work/query-time")s"
  done
done
