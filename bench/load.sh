#!/usr/bin/env bash
# The load benchmark (a benchmark, not a test): generates N realistic jobs as JSON Lines, loads
# them with a release build of sagesync into a fresh SQLite file and a fresh Postgres schema, runs
# the naive Python loader (bench/naive_load.py) on a sample for the side-by-side rate, and measures
# sagesync's peak RSS loading N_MEM jobs.
#
#   bench/load.sh [N] [N_MEM] [NAIVE_SAMPLE]     # defaults: 100000 500000 10000
#
# Postgres: BENCH_DATABASE_URL, or a throwaway cluster like the tests use.
# BENCH_DIR=dir puts the input and the SQLite file there (/dev/shm: tmpfs, for comparisons the
# disk's noise would drown).
# SAGESYNC=path measures that binary instead of building one (to compare two versions), and
# N_MEM 0 and NAIVE_SAMPLE 0 leave out the memory run and the naive loader.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh

N=${1:-100000}
N_MEM=${2:-500000}
SAMPLE=${3:-10000}
work=$(mktemp -d "${BENCH_DIR:-/tmp}/sagesync-bench.XXXXXX")
on_exit 'rm -rf "$work"'

if [ -z "${SAGESYNC:-}" ]; then cargo build --release --quiet; fi
sagesync=${SAGESYNC:-target/release/sagesync}
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
  start_throwaway_pg BENCH_DATABASE_URL
elif command -v psql >/dev/null; then
  # A server of the user's own: leave nothing behind in it.
  on_exit 'psql -q "$BENCH_DATABASE_URL" -c "DROP SCHEMA IF EXISTS bench_$$ CASCADE" >/dev/null 2>&1 || true'
fi

rate() { python3 -c "print(f'{$1/$2:,.0f}')"; }
timed() { # prints "seconds peak_kb" of a command
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  cat "$work/time"
}

echo "generating $N jobs..." >&2
python3 bench/gen_jobs.py "$N" > "$work/jobs.jsonl"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(du -h "$work/jobs.jsonl" | cut -f1) of input"

read -r s kb < <(timed "$sagesync" --database-url "sqlite://$work/bench.db" load "$work/jobs.jsonl")
echo "sagesync load, SQLite:   N=$N  ${s}s  $(rate "$N" "$s") jobs/s  peak RSS $((kb / 1024)) MB"
sqlite_rate=$(python3 -c "print($N/$s)")

read -r s kb < <(timed "$sagesync" --database-url "$BENCH_DATABASE_URL" --pg-schema "bench_$$" load "$work/jobs.jsonl")
echo "sagesync load, Postgres: N=$N  ${s}s  $(rate "$N" "$s") jobs/s  peak RSS $((kb / 1024)) MB"

if [ "$SAMPLE" -gt 0 ]; then
  head -n "$SAMPLE" "$work/jobs.jsonl" > "$work/sample.jsonl"
  read -r s _ < <(timed python3 bench/naive_load.py "$work/sample.jsonl" "$work/naive.db")
  echo "naive Python loader:     N=$SAMPLE  ${s}s  $(rate "$SAMPLE" "$s") jobs/s  (sagesync is $(python3 -c "print(f'{$sqlite_rate/($SAMPLE/$s):.1f}')")x faster)"
fi

if [ "$N_MEM" -gt 0 ]; then
  rm -f "$work/jobs.jsonl" "$work"/bench.db*
  echo "generating $N_MEM jobs for the memory run..." >&2
  python3 bench/gen_jobs.py "$N_MEM" > "$work/jobs.jsonl"
  read -r s kb < <(timed "$sagesync" --database-url "sqlite://$work/mem.db" load "$work/jobs.jsonl")
  echo "sagesync load, SQLite:   N=$N_MEM  ${s}s  $(rate "$N_MEM" "$s") jobs/s  peak RSS $((kb / 1024)) MB"
fi
