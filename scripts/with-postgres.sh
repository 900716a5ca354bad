#!/usr/bin/env bash
# Runs a command against a private, throwaway PostgreSQL cluster listening on 127.0.0.1 only.
# The cluster's superuser password is random and reaches the command only through PGPASSWORD.
# Usage: scripts/with-postgres.sh <command> [args...]
set -euo pipefail

pg_bin=""
for dir in /usr/lib/postgresql/*/bin; do
  [ -x "$dir/initdb" ] && pg_bin="$dir"
done
[ -n "$pg_bin" ] || { echo "with-postgres: no PostgreSQL server binaries found; run scripts/setup.sh" >&2; exit 1; }

data_dir=$(mktemp -d /tmp/lakehouse-pg.XXXXXX)
pw_file="$data_dir.pw"
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$data_dir"
  run_as=(runuser -u postgres --)
fi
superuser=$("${run_as[@]}" whoami)
password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
( umask 077; printf '%s\n' "$password" > "$pw_file" )
[ ${#run_as[@]} -gt 0 ] && chown postgres: "$pw_file"

port=${LAKEHOUSE_TEST_PGPORT:-$(( 40000 + RANDOM % 20000 ))}
"${run_as[@]}" "$pg_bin/initdb" -D "$data_dir/data" -U "$superuser" --pwfile="$pw_file" \
  --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
rm -f "$pw_file"
"${run_as[@]}" "$pg_bin/pg_ctl" -D "$data_dir/data" -l "$data_dir/server.log" -w start \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data_dir" >/dev/null

stop() {
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$data_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data_dir"
}
trap stop EXIT

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=$superuser PGPASSWORD=$password PGDATABASE=postgres
export LAKEHOUSE_TEST_PG_DATA="$data_dir/data" LAKEHOUSE_TEST_PG_BIN="$pg_bin"
"$@"
