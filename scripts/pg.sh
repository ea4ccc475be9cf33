#!/usr/bin/env bash
# A private PostgreSQL 15 for development and tests, run as the unprivileged
# `postgres` user (initdb refuses root), on 127.0.0.1 only, at a port chosen
# once and kept in DATADIR/port. Idempotent.
#   scripts/pg.sh start DATADIR    create if missing, start if stopped, print the URL
#   scripts/pg.sh stop DATADIR     fast shutdown, waits
#   scripts/pg.sh restart DATADIR  stop then start (same port)
#   scripts/pg.sh url DATADIR      print the URL
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
cmd=${1:?usage: pg.sh start|stop|restart|url DATADIR}
data=${2:?usage: pg.sh start|stop|restart|url DATADIR}
mkdir -p "$(dirname "$data")"
data=$(cd "$(dirname "$data")" && pwd)/$(basename "$data")

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

url() { echo "postgresql://postgres@127.0.0.1:$(cat "$data/port")/mailgate"; }

running() { as_postgres "$bin/pg_ctl" -D "$data/cluster" status >/dev/null 2>&1; }

start() {
  if [ ! -f "$data/cluster/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    as_postgres "$bin/initdb" -D "$data/cluster" -A trust -U postgres --no-sync -E UTF8 >"$data/initdb.log" 2>&1
  fi
  [ -f "$data/port" ] || free_port > "$data/port"
  if ! running; then
    as_postgres "$bin/pg_ctl" -D "$data/cluster" -l "$data/server.log" -w -t 60 \
      -o "-p $(cat "$data/port") -k $data -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  local port; port=$(cat "$data/port")
  if ! as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -Atqc "SELECT 1 FROM pg_database WHERE datname='mailgate'" postgres | grep -q 1; then
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE mailgate" postgres >/dev/null
  fi
  url
}

stop() {
  [ -f "$data/cluster/PG_VERSION" ] || return 0
  if running; then as_postgres "$bin/pg_ctl" -D "$data/cluster" -m fast -w -t 60 stop >/dev/null; fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) stop; start >/dev/null; url ;;
  url) url ;;
  *) echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
esac
