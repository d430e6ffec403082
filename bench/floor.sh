#!/usr/bin/env bash
# The storage engines' own limits for sagesync's rows (a benchmark, not a test): loads N generated
# jobs with sagesync into SQLite, then copies those rows, without sagesync, into empty tables of
# the same schema (bench/floor.py): SQLite as sagesync sets it up (WAL), SQLite with no journal
# and no syncing, Postgres by COPY, and Postgres by COPY into unlogged tables. These are the
# ceilings any loader of this schema has on the machine.
#
#   bench/floor.sh [N]       # default 100000
#
# Postgres: BENCH_DATABASE_URL, or a throwaway cluster like the tests use. A venv with psycopg is
# made in .venv-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh

N=${1:-100000}
work=$(mktemp -d /tmp/sagesync-floor.XXXXXX)
on_exit 'rm -rf "$work"'
cargo build --release --quiet
sagesync=target/release/sagesync
if [ -z "${BENCH_DATABASE_URL:-}" ]; then start_throwaway_pg BENCH_DATABASE_URL; fi
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet --disable-pip-version-check 'psycopg[binary]>=3.2,<4'
fi

echo "generating and loading $N jobs..." >&2
python3 bench/gen_jobs.py "$N" > "$work/jobs.jsonl"
"$sagesync" --database-url "sqlite://$work/src.db" load "$work/jobs.jsonl" 2>/dev/null
rm -f "$work/jobs.jsonl"

python3 bench/floor.py "$work/src.db" sqlite "$work/wal.db" wal
rm -f "$work"/wal.db*
python3 bench/floor.py "$work/src.db" sqlite "$work/off.db" off
rm -f "$work"/off.db*
for mode in logged unlogged; do
  schema="floor_${mode}_$$"
  "$sagesync" --database-url "$BENCH_DATABASE_URL" --pg-schema "$schema" migrate 2>/dev/null
  .venv-bench/bin/python bench/floor.py "$work/src.db" postgres "$BENCH_DATABASE_URL" "$schema" "$mode"
done
