#!/usr/bin/env bash
# Runs the whole sagesync test suite on a fresh machine (lints are in .ci/run). It sets up what
# the tests need and tears it down afterwards:
# - PostgreSQL: a throwaway cluster, unless TEST_DATABASE_URL is given;
# - moto, the SageMaker emulator: a venv in .venv-test (created once) and a moto_server on a free
#   loopback port, unless SAGESYNC_TEST_MOTO_URL is given.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  start_throwaway_pg TEST_DATABASE_URL
fi

venv=.venv-test
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6' boto3
fi
export SAGESYNC_TEST_PYTHON="$PWD/$venv/bin/python"
if [ -z "${SAGESYNC_TEST_MOTO_URL:-}" ]; then
  moto_port=$(free_port)
  moto_log="${TMPDIR:-/tmp}/sagesync-moto-$moto_port.log"
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$moto_log" 2>&1 &
  moto_pid=$!
  on_exit 'kill $moto_pid 2>/dev/null || true; rm -f "$moto_log"'
  for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $moto_port), 0.2)" 2>/dev/null && break
    sleep 0.1
  done
  export SAGESYNC_TEST_MOTO_URL="http://127.0.0.1:$moto_port"
  echo "$0: moto_server on $SAGESYNC_TEST_MOTO_URL" >&2
fi

cargo test --all-targets "$@"
