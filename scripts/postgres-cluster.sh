# Sourced by with-postgres.sh (the tests' throwaway cluster) and local-postgres.sh (the local stack's kept one), so
# that both find the same server binaries and create and start their clusters with the same settings: scram-sha-256
# on every connection, UTF-8 with the C.UTF-8 locale, 127.0.0.1 only. Error messages carry the sourcing script's name.

pg_bin=""
for dir in /usr/lib/postgresql/*/bin; do
  [ -x "$dir/initdb" ] && pg_bin="$dir"
done
[ -n "$pg_bin" ] || { echo "$(basename "$0" .sh): no PostgreSQL server binaries found; run scripts/setup.sh" >&2; exit 1; }

# As root, the server runs as postgres (initdb and postgres refuse root).
run_as=()
[ "$(id -u)" -eq 0 ] && run_as=(runuser -u postgres --)

# cluster_init DATA SUPERUSER PASSWORD: initdb into DATA (whose parent the server's user can write). The password
# reaches initdb through a 0600 file that is removed at once; a failed initdb leaves no DATA behind.
cluster_init() {
  local data=$1 superuser=$2 password=$3 pw_file status=0
  pw_file=$(mktemp)
  printf '%s\n' "$password" > "$pw_file"
  [ ${#run_as[@]} -gt 0 ] && chown postgres: "$pw_file"
  "${run_as[@]}" "$pg_bin/initdb" -D "$data" -U "$superuser" --pwfile="$pw_file" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null || status=$?
  rm -f "$pw_file"
  if [ "$status" -ne 0 ]; then
    rm -rf "$data"
    echo "$(basename "$0" .sh): initdb failed (exit $status)" >&2
    exit 1
  fi
}

# cluster_start DATA PORT DIR: starts the cluster on 127.0.0.1:PORT, its socket and server.log in DIR; waits for it.
cluster_start() {
  "${run_as[@]}" "$pg_bin/pg_ctl" -D "$1" -l "$3/server.log" -w start \
    -o "-c listen_addresses=127.0.0.1 -c port=$2 -c unix_socket_directories=$3" >/dev/null
}
