#!/usr/bin/env bash
# Runs the whole sagesync test suite on a fresh machine (lints are in .ci/run).
# Where TEST_DATABASE_URL is not given it starts a throwaway PostgreSQL cluster for the suite and
# stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  start_throwaway_pg TEST_DATABASE_URL
fi

cargo test --all-targets "$@"
