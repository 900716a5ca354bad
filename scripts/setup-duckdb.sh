#!/usr/bin/env bash
# Puts a real DuckDB with DuckLake into .tools/duckdb/v<version>/ for every release line the tests run
# (tools/duckdb/<version>/):
# - DuckDB's own signed extension binaries (ducklake, sqlite_scanner, postgres_scanner, httpfs).
#   extensions.duckdb.org is out of reach here, so they come from PyPI wheels that package the same files; pip
#   checks each wheel against the SHA-256 pinned in extensions.txt.
# - For the older lines, @duckdb/node-api of that exact DuckDB version (an extension loads only into the DuckDB it
#   was built for), from the line's own package.json and lock. They cannot be npm aliases of the project: every
#   line's native binding is named libduckdb.so, so one process holds one line anyway, and npm's lock of several
#   aliased bindings breaks `npm ci`. The newest line is the project's own @duckdb/node-api.
# A line whose pins have not changed since the last run is reused as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

for line in tools/duckdb/*/; do
  version=$(basename "$line")
  dest=".tools/duckdb/v$version"
  if [ -f "$dest/pins" ] && cat "$line"* | cmp -s - "$dest/pins"; then
    continue
  fi
  echo "setup: installing DuckDB $version with its DuckLake extension (PyPI wheels, npm)" >&2
  work=$(mktemp -d)
  pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
    -r "$line/extensions.txt" -d "$work/wheels" >&2
  mkdir -p "$work/line"
  for wheel in "$work"/wheels/*.whl; do
    # A wheel holds duckdb_extension_<alias>/extensions/v<version>/<name>.duckdb_extension; a wheel built
    # for another DuckDB version has no such path, and unzip fails on it.
    unzip -q -j "$wheel" "*/extensions/v$version/*.duckdb_extension" -d "$work/line" || {
      echo "setup: $(basename "$wheel") holds no extension for DuckDB $version; fix the pins in $line" >&2
      exit 1
    }
  done
  if [ -f "$line/package.json" ]; then
    mkdir -p "$work/line/node"
    cp "$line/package.json" "$line/package-lock.json" "$work/line/node/"
    # `npm install` rather than `npm ci`: the registry reached here lacks these releases' bindings for other
    # platforms, which the lock therefore omits and `npm ci` would demand. Integrity is still checked per package.
    npm install --prefix "$work/line/node" --no-audit --no-fund --no-save >&2
  fi
  cat "$line"* > "$work/line/pins"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$work/line" "$dest"
  rm -rf "$work"
done
