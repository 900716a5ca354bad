#!/usr/bin/env bash
# `pulumi up` on the `local` stack, from nothing: a private PostgreSQL (scripts/local-postgres.sh), sample DuckLake
# catalogs written by the real DuckLake (scripts/sample-lakehouse.ts), generated secrets kept as Pulumi secrets,
# then the migration; prints the outputs and a query to try. Everything it makes lives in .local/ (ignored):
#   .local/pulumi-passphrase   the passphrase of the stack's secrets (0600)
#   .local/state/              the stack's state (a file backend)
#   .local/Pulumi.local.yaml   the working config: Pulumi.local.yaml plus the secrets' ciphertext and the port
#   .local/postgres/           the server;  .local/lakehouse/  the sample catalogs;  .local/clients/  client files
# Run it again and it finds all of these: the second `pulumi up` changes nothing.
# Usage (through scripts/up.sh, after setup): scripts/local-stack.sh [extra pulumi up flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

stack=local
mkdir -p .local/state
# The file backend encrypts secrets with this passphrase; it never appears in an argument or on screen.
if [ ! -s .local/pulumi-passphrase ]; then
  ( umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > .local/pulumi-passphrase )
fi
export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/.local/pulumi-passphrase"
unset PULUMI_CONFIG_PASSPHRASE
# This stack's state belongs with its server, whatever backend other stacks use.
export PULUMI_BACKEND_URL="file://$PWD/.local/state"
config="$PWD/.local/Pulumi.local.yaml"

tsx() { node --disable-warning=ExperimentalWarning --import tsx "$@"; }

if ! pulumi stack ls --json 2>/dev/null | grep -q '"name": "local"'; then
  # `pulumi stack init` writes the passphrase's salt into the project's Pulumi.<stack>.yaml, which for this stack is
  # committed; so create the stack from a folder of its own and keep that file as the working config.
  rm -rf .local/init && mkdir -p .local/init && cp Pulumi.yaml .local/init/
  pulumi --cwd .local/init stack init "$stack" --secrets-provider passphrase >&2
  mv .local/init/Pulumi.local.yaml "$config"
  rm -rf .local/init
fi
tsx scripts/local-stack-config.ts Pulumi.local.yaml "$config"
cfg() { pulumi config --stack "$stack" --config-file "$config" "$@"; }

# Random secrets, set once; `pulumi config set --secret` reads the value from stdin (all of it, a newline
# included, so none is written).
for key in postgresAdminPassword rolePassword s3AccessKeyId s3SecretAccessKey; do
  if ! cfg get "lakehouse-catalog:$key" >/dev/null 2>&1; then
    head -c 24 /dev/urandom | base64 | tr -d '/+=\n' | cfg set --secret "lakehouse-catalog:$key"
  fi
done

LOCAL_POSTGRES_PASSWORD=$(cfg get lakehouse-catalog:postgresAdminPassword)
export LOCAL_POSTGRES_PASSWORD
port=$(bash scripts/local-postgres.sh start)
unset LOCAL_POSTGRES_PASSWORD
tsx scripts/local-stack-config.ts Pulumi.local.yaml "$config" "$port"

# The sample catalogs the config names (kept when they exist, so a second run finds the same ones).
cfg get lakehouse-catalog:catalogs --json \
  | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () =>
      console.log(JSON.parse(s).objectValue.map((c) => c.sqlite).join("\n")))' \
  | xargs node --disable-warning=ExperimentalWarning --import tsx scripts/sample-lakehouse.ts

pulumi up --stack "$stack" --config-file "$config" --yes "$@"
pulumi stack output --stack "$stack"

first=$(pulumi stack output --stack "$stack" --json schemas | node -e 'let s = ""; process.stdin.on("data", (d) =>
  (s += d)).on("end", () => console.log(Object.keys(JSON.parse(s))[0]))')
cat <<NEXT

Next, query a migrated catalog with DuckDB (DuckLake reads its metadata from PostgreSQL now):
  bash scripts/local-query.sh "SELECT c.name, count(*) AS orders, sum(o.amount) AS total FROM $first.orders o JOIN $first.customers c ON c.id = o.customer_id GROUP BY c.name ORDER BY c.name"
Stop the server: bash scripts/local-postgres.sh stop   (the next bash scripts/up.sh starts it again)
Remove everything the local stack made: bash scripts/local-postgres.sh remove
NEXT
