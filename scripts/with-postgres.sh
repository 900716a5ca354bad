#!/usr/bin/env bash
# Runs a command against a private, throwaway PostgreSQL cluster listening on 127.0.0.1 only.
# The cluster's superuser password is random and reaches the command only through PGPASSWORD.
# Usage: scripts/with-postgres.sh <command> [args...]
set -euo pipefail

source "$(dirname "$0")/postgres-cluster.sh"

data_dir=$(mktemp -d /tmp/lakehouse-pg.XXXXXX)
[ ${#run_as[@]} -gt 0 ] && chown postgres: "$data_dir"
superuser=$("${run_as[@]}" whoami)
password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')

port=${LAKEHOUSE_TEST_PGPORT:-$(( 40000 + RANDOM % 20000 ))}
cluster_init "$data_dir/data" "$superuser" "$password"
cluster_start "$data_dir/data" "$port" "$data_dir"

stop() {
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$data_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data_dir"
}
trap stop EXIT

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=$superuser PGPASSWORD=$password PGDATABASE=postgres
export LAKEHOUSE_TEST_PG_DATA="$data_dir/data" LAKEHOUSE_TEST_PG_BIN="$pg_bin"
"$@"
