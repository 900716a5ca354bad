#!/usr/bin/env bash
# Installs the real clients of the rendered client configuration (the DuckDB CLI, dbt-core with dbt-duckdb) and
# moto's S3 server into the virtualenv .tools/python, from tools/python/requirements.txt: every package pinned with
# its wheel's SHA-256, which pip checks (--require-hashes). A venv whose requirements have not changed is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=tools/python/requirements.txt
venv=.tools/python
stamp="$venv/requirements.txt"
if cmp -s "$requirements" "$stamp"; then
  exit 0
fi

# The hashes are those of the CPython 3.11 wheels; another interpreter would need other wheels.
if ! python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "setup: python3 must be CPython 3.11 for the wheels pinned in $requirements; got $(python3 --version 2>&1)." \
    "Install python3.11 (Debian: apt-get install python3.11-venv) or re-pin the wheels for this Python." >&2
  exit 1
fi
echo "setup: installing the DuckDB CLI, dbt-duckdb and moto into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
  -r "$requirements" >&2
cp "$requirements" "$stamp"
