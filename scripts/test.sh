#!/usr/bin/env bash
# Runs the whole sagesync test suite on a fresh machine (lints are in .ci/run). It sets up what
# the tests need and tears it down afterwards:
# - PostgreSQL: a throwaway cluster, unless TEST_DATABASE_URL is given (Debian's postgresql,
#   installed when the server is found neither on the PATH nor where Debian puts it);
# - moto, the SageMaker emulator: a venv in .venv-test (created once) and a moto_server on a free
#   loopback port, unless SAGESYNC_TEST_MOTO_URL is given;
# - Chromium, for the page tests (tests/page.rs): Debian's package, installed when missing;
# - podman and buildah, for the container image's test (tests/deploy.rs): the same.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pg.sh
. scripts/emulators.sh

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  start_throwaway_pg TEST_DATABASE_URL
fi

moto_venv
export SAGESYNC_TEST_PYTHON="$MOTO_PYTHON"
if [ -z "${SAGESYNC_TEST_MOTO_URL:-}" ]; then
  start_moto SAGESYNC_TEST_MOTO_URL
fi

if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
fi
export SAGESYNC_TEST_CHROMIUM="${SAGESYNC_TEST_CHROMIUM:-$(command -v chromium)}"
for tool in podman buildah; do
  command -v "$tool" >/dev/null 2>&1 || apt_install "$tool"
done

cargo test --all-targets "$@"
