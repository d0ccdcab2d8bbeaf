#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 for the history store tests.
#
#   eval "$(scripts/start-postgres.sh)"        # start; exports MLGUARD_TEST_POSTGRES_URL
#   scripts/start-postgres.sh stop             # stop the cluster named by MLGUARD_TEST_POSTGRES_DIR
#
# Works on a fresh Debian/Ubuntu machine as root (installs Debian's postgresql package when no
# initdb is found, and runs the server as the 'postgres' user) and as an ordinary user who has the
# PostgreSQL binaries. Only the export lines go to stdout; progress goes to stderr.
# Environment: MLGUARD_PG_PORT (first port to try, default 54329), MLGUARD_PG_DIR (cluster folder,
# default a new temporary folder), MLGUARD_PG_DB (database name, default mlguard_test).
set -euo pipefail

log() { echo "start-postgres: $*" >&2; }

find_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x "$d/initdb" ]] && { echo "$d"; return 0; }
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

as_owner() {
  # Run a PostgreSQL tool as the cluster owner: 'postgres' when we are root, else ourselves.
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [[ "${1:-start}" == "stop" ]]; then
  dir="${MLGUARD_TEST_POSTGRES_DIR:?set MLGUARD_TEST_POSTGRES_DIR (printed by start)}"
  bindir="$(find_bindir)"
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2
  rm -rf "$dir"
  log "stopped and removed $dir"
  exit 0
fi

if ! bindir="$(find_bindir)"; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bindir="$(find_bindir)"
  else
    log "no initdb found: install PostgreSQL (e.g. apt-get install postgresql)"
    exit 1
  fi
fi

dir="${MLGUARD_PG_DIR:-$(mktemp -d /tmp/mlguard-pg.XXXXXX)}"
mkdir -p "$dir"
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
  chown postgres: "$dir"
fi
chmod 700 "$dir"

port="${MLGUARD_PG_PORT:-54329}"
for _ in $(seq 1 50); do
  # pg_isready exits 2 when nothing answers on the port.
  if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" >/dev/null 2>&1 || [[ $? -ne 2 ]]; then
    port=$((port + 1))
  else
    break
  fi
done

log "initdb in $dir/data with $bindir"
as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >&2 || { cat "$dir/server.log" >&2; exit 1; }

db="${MLGUARD_PG_DB:-mlguard_test}"
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
log "PostgreSQL listening on 127.0.0.1:$port, database $db"

echo "export MLGUARD_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$port/$db"
echo "export MLGUARD_TEST_POSTGRES_DIR=$dir"
