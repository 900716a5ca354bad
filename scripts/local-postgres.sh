#!/usr/bin/env bash
# The `local` stack's private PostgreSQL server: a cluster in .local/postgres (ignored by git), listening on
# 127.0.0.1 only, on a port chosen when it is created and kept in .local/postgres/port. It survives between runs,
# so a second `bash scripts/up.sh` finds the same server, catalogs and Pulumi state.
#
# Usage: scripts/local-postgres.sh start | stop | status | remove
#   start   creates the cluster if there is none (its superuser password is read from LOCAL_POSTGRES_PASSWORD, set
#           by scripts/local-stack.sh, and reaches initdb through a 0600 file that is removed at once), then starts
#           it if it is not running. Prints the port.
#   stop    stops it; the data stays.
#   status  says whether it runs.
#   remove  stops it and deletes everything the local stack made: .local/ (the cluster, the sample catalogs, the
#           stack's state and config, the passphrase and the client files).
set -euo pipefail
cd "$(dirname "$0")/.."

root="$PWD/.local/postgres"
data="$root/data"

source scripts/postgres-cluster.sh

running() {
  [ -d "$data" ] && "${run_as[@]}" "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

stop() {
  if running; then
    "${run_as[@]}" "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    echo "local-postgres: stopped" >&2
  fi
}

create() {
  if [ -z "${LOCAL_POSTGRES_PASSWORD:-}" ]; then
    echo "local-postgres: no cluster in $root yet, and LOCAL_POSTGRES_PASSWORD (its superuser password) is" \
      "not set; run bash scripts/up.sh, which creates it" >&2
    exit 1
  fi
  mkdir -p "$root"
  [ ${#run_as[@]} -gt 0 ] && chown postgres: "$root"
  cluster_init "$data" postgres "$LOCAL_POSTGRES_PASSWORD"
  # A free port, kept with the cluster: the stack's config names it.
  local port
  for _ in $(seq 1 50); do
    port=$(( 40000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  echo "$port" > "$root/port"
  echo "local-postgres: created a cluster in $root (port $port)" >&2
}

case "${1:-}" in
  start)
    [ -f "$data/PG_VERSION" ] || create
    port=$(cat "$root/port")
    if ! running; then
      cluster_start "$data" "$port" "$root"
      echo "local-postgres: running on 127.0.0.1:$port" >&2
    fi
    echo "$port"
    ;;
  stop)
    stop
    ;;
  status)
    if running; then echo "running on 127.0.0.1:$(cat "$root/port")"; else echo "not running"; fi
    ;;
  remove)
    stop
    rm -rf "$PWD/.local"
    echo "local-postgres: removed .local/ (the server, the sample catalogs and the local stack's state)" >&2
    ;;
  *)
    echo "usage: scripts/local-postgres.sh start | stop | status | remove" >&2
    exit 2
    ;;
esac
