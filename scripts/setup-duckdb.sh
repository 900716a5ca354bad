#!/usr/bin/env bash
# Puts DuckDB's own signed extension binaries (ducklake, sqlite_scanner, postgres_scanner, httpfs) into
# .tools/duckdb/v<version>/, one folder per DuckDB release line the tests run. extensions.duckdb.org is out of
# reach here, so they come from PyPI wheels that package the same files: pip checks each wheel against the
# SHA-256 pinned in tools/duckdb/<version>.txt, and a folder whose pins have not changed is reused as it is.
# Each folder loads only into @duckdb/node-api of the same DuckDB version (package.json pins them together).
set -euo pipefail
cd "$(dirname "$0")/.."

for pins in tools/duckdb/*.txt; do
  version=$(basename "$pins" .txt)
  dest=".tools/duckdb/v$version"
  if cmp -s "$pins" "$dest/pins.txt"; then
    continue
  fi
  echo "setup: fetching DuckDB $version's extensions (ducklake, scanners) from PyPI wheels" >&2
  work=$(mktemp -d)
  pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
    -r "$pins" -d "$work/wheels" >&2
  mkdir -p "$work/extensions"
  for wheel in "$work"/wheels/*.whl; do
    # A wheel holds duckdb_extension_<alias>/extensions/v<version>/<name>.duckdb_extension; a wheel built
    # for another DuckDB version has no such path, and unzip fails on it.
    unzip -q -j "$wheel" "*/extensions/v$version/*.duckdb_extension" -d "$work/extensions" || {
      echo "setup: $(basename "$wheel") holds no extension for DuckDB $version; fix the pins in $pins" >&2
      exit 1
    }
  done
  cp "$pins" "$work/extensions/pins.txt"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$work/extensions" "$dest"
  rm -rf "$work"
done
