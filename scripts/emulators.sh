# Sourced after scripts/pg.sh by scripts/test.sh and the benchmarks: the AWS peers they run
# against, each on a free loopback port and stopped when the calling script exits.
# - moto_venv: the venv .venv-test with moto, cbor2 for the stand-in's CloudWatch and PyYAML for
#   the deploy/ manifests' check (created once); sets MOTO_PYTHON.
# - start_moto VAR: a moto_server, its URL exported in the variable named by $1.
# - start_standin: the project's stand-in (tests/fixtures/standin.py); sets $port and $standin.
# - control WHAT [JSON] [METHOD]: a call to the stand-in's control API (POST by default).
# - standin_quotas: per-operation quotas from LIST_RPS, SEARCH_RPS, DESCRIBE_RPS and TAGS_RPS.

moto_venv() {
  local venv=.venv-test
  if [ ! -x "$venv/bin/moto_server" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6' boto3
  fi
  if ! "$venv/bin/python" -c 'import cbor2, yaml' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'cbor2>=5.6,<6' 'PyYAML>=6,<7'
  fi
  MOTO_PYTHON="$PWD/$venv/bin/python"
}

start_moto() {
  local var=$1 moto_port
  moto_venv
  moto_port=$(free_port)
  MOTO_LOG="${TMPDIR:-/tmp}/sagesync-moto-$moto_port.log"
  .venv-test/bin/moto_server -H 127.0.0.1 -p "$moto_port" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  on_exit 'kill $MOTO_PID 2>/dev/null || true; rm -f "$MOTO_LOG"'
  for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $moto_port), 0.2)" 2>/dev/null && break
    sleep 0.1
  done
  export "$var=http://127.0.0.1:$moto_port"
  echo "$0: moto_server on http://127.0.0.1:$moto_port" >&2
}

start_standin() {
  local out
  port=$(free_port)
  out=$(mktemp /tmp/sagesync-standin.XXXXXX)
  "${MOTO_PYTHON:-python3}" tests/fixtures/standin.py "$port" > "$out" &
  standin=$!
  on_exit "kill $standin 2>/dev/null || true; rm -f $out"
  for _ in $(seq 1 50); do grep -q ready "$out" 2>/dev/null && break; sleep 0.1; done
}

control() { curl -sf -X "${3:-POST}" "http://127.0.0.1:$port/control/$1" -d "${2:-}"; }

standin_quotas() {
  control quotas "{\"ListTrainingJobs\": $LIST_RPS, \"Search\": $SEARCH_RPS, \
\"DescribeTrainingJob\": $DESCRIBE_RPS, \"ListTags\": $TAGS_RPS}" >/dev/null
}
