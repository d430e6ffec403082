# Sourced by scripts/test.sh and the benchmarks: start_throwaway_pg starts a PostgreSQL cluster in
# a temp dir on a free loopback port (as root through `runuser -u postgres`), exports its URL in
# the variable named by $1, and stops and removes it when the calling script exits; it finds the
# server where Debian puts it, or installs Debian's postgresql, when it is not on the PATH. on_exit CMD adds a
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

# Debian's packages, as root or through `sudo -n`; the package lists are read once per script.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  if [ -z "${APT_UPDATED:-}" ]; then $sudo apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# The newest of Debian's PostgreSQL server directories, if any.
debian_pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && echo "$d"; done | sort -V | tail -1
}

# initdb, pg_ctl and postgres on the PATH: as they are, else where Debian's package puts them,
# else Debian's package installed (it also creates the postgres user the cluster runs as).
find_pg_tools() {
  local var=$1 tool missing="" dir
  for tool in initdb pg_ctl postgres; do command -v "$tool" >/dev/null || missing=1; done
  [ -n "$missing" ] || return 0
  dir=$(debian_pg_bin)
  if [ -z "$dir" ]; then
    echo "$0: the PostgreSQL server is not installed; installing Debian's postgresql" >&2
    apt_install postgresql || { echo "$0: cannot install postgresql; install it or set $var" >&2; exit 2; }
    dir=$(debian_pg_bin)
  fi
  [ -n "$dir" ] || { echo "$0: initdb not found after installing postgresql; set $var" >&2; exit 2; }
  PATH="$dir:$PATH"
}

start_throwaway_pg() {
  local var=$1
  find_pg_tools "$var"
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
