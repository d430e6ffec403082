# Sourced by scripts/test.sh and bench/load.sh: start_throwaway_pg starts a PostgreSQL cluster in a
# temp dir on a free loopback port (as root through `runuser -u postgres`), exports its URL in the
# variable named by $1, and stops and removes it when the calling script exits. on_exit CMD adds a
# command to run at exit, before the ones added earlier (last in, first out).

EXIT_CMDS=()
on_exit() {
  EXIT_CMDS=("$1" "${EXIT_CMDS[@]}")
  trap 'for c in "${EXIT_CMDS[@]}"; do eval "$c"; done' EXIT
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_throwaway_pg() {
  local var=$1 tool
  for tool in initdb pg_ctl postgres; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found; install PostgreSQL or set $var" >&2; exit 2; }
  done
  PG_TMP=$(mktemp -d /tmp/sagesync-pg.XXXXXX)
  chmod 755 "$PG_TMP"
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_TMP"; fi
  local port
  port=$(free_port)
  as_pg initdb -D "$PG_TMP/data" -U postgres --auth=trust -E UTF8 --no-sync >"$PG_TMP/initdb.log" 2>&1 \
    || { cat "$PG_TMP/initdb.log" >&2; exit 2; }
  on_exit 'as_pg pg_ctl -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PG_TMP"'
  as_pg pg_ctl -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
    || { cat "$PG_TMP/server.log" >&2; exit 2; }
  export "$var=postgres://postgres@127.0.0.1:$port/postgres"
  echo "$0: throwaway PostgreSQL on 127.0.0.1:$port" >&2
}
