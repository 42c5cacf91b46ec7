#!/usr/bin/env bash
# A throw-away PostgreSQL on loopback, for the demo and the tests.
#   Deploy/postgres.sh start DIR [PORT]   initdb in DIR (if new), start, create database plutchik;
#                                         prints the DATABASE_URL
#   Deploy/postgres.sh stop DIR           stop it and remove DIR
#   Deploy/postgres.sh with CMD [ARG...]  run CMD with DATABASE_URL set: as given, or else a
#                                         throw-away server started here and removed afterwards
set -euo pipefail
if [ "${1:-}" = "with" ]; then
  shift
  if [ -n "${DATABASE_URL:-}" ]; then exec "$@"; fi
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  tmpdir="$(mktemp -d -u /tmp/plutchik-pg.XXXXXX)"
  DATABASE_URL="$("$here/postgres.sh" start "$tmpdir")"
  export DATABASE_URL
  trap '"$here/postgres.sh" stop "$tmpdir"' EXIT
  status=0; "$@" || status=$?
  exit $status
fi
cmd="${1:?usage: postgres.sh start|stop DIR [PORT] | with CMD...}"
dir="${2:?usage: postgres.sh start|stop DIR [PORT] | with CMD...}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "postgres.sh: no PostgreSQL server found; run Deploy/install-deps.sh (apt package postgresql)" >&2; exit 1; }
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi

case "$cmd" in
start)
  port="${3:-}"
  if [ -z "$port" ]; then
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  fi
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    "${as_pg[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=trust --no-sync -E UTF8 >"$dir.initdb.log" 2>&1 \
      || { cat "$dir.initdb.log" >&2; exit 1; }
  fi
  "${as_pg[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
  "${as_pg[@]}" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt \
    -c "SELECT 1 FROM pg_database WHERE datname='plutchik'" | grep -q 1 \
    || "${as_pg[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres plutchik
  echo "postgresql://postgres@127.0.0.1:$port/plutchik"
  ;;
stop)
  if [ -f "$dir/postmaster.pid" ]; then
    "${as_pg[@]}" "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir" "$dir.initdb.log"
  ;;
*) echo "postgres.sh: unknown command $cmd" >&2; exit 2 ;;
esac
