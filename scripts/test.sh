#!/usr/bin/env bash
# Runs the whole sagesync test suite on a fresh machine: lints are in .ci/run, this is the suite.
# Where TEST_DATABASE_URL is not given it starts a throwaway PostgreSQL cluster on a free loopback
# port (initdb + pg_ctl in a temp dir; as root through `runuser -u postgres`) and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

cleanup() { :; }
trap 'cleanup' EXIT

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  for bin in initdb pg_ctl postgres; do
    command -v "$bin" >/dev/null || { echo "test.sh: $bin not found; install PostgreSQL or set TEST_DATABASE_URL" >&2; exit 2; }
  done
  pgdir=$(mktemp -d /tmp/sagesync-pg.XXXXXX)
  chmod 755 "$pgdir"
  [ "$(id -u)" = 0 ] && chown postgres "$pgdir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg initdb -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$pgdir/initdb.log" 2>&1 \
    || { cat "$pgdir/initdb.log" >&2; exit 2; }
  as_pg pg_ctl -D "$pgdir/data" -l "$pgdir/server.log" -w \
    -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$pgdir/server.log" >&2; exit 2; }
  cleanup() { as_pg pg_ctl -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "test.sh: throwaway PostgreSQL on 127.0.0.1:$port"
fi

cargo test --all-targets "$@"
