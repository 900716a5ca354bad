#!/usr/bin/env bash
# Makes a Pulumi CLI available without get.pulumi.com: builds it from the Go module proxy into .tools/pulumi/bin,
# pinned by tools/pulumi/cli/go.mod and go.sum. A `pulumi` already on PATH (a user's own install) wins, and then
# nothing is built. Needs Go 1.26. Safe to run again: a build at the pinned versions is reused (stamp file).
#
# Offline, the CLI is all the Go module proxy serves: the Node.js language host (pulumi-language-nodejs) and the
# command and postgresql provider plugins are not served (tools/pulumi/README.md). This script says which of them
# are missing; `pulumi preview`/`up` need them (on PATH, or `pulumi plugin install resource NAME VERSION --file BIN`).
#
# Callers put .tools/pulumi/bin on PATH: export PATH="$PWD/.tools/pulumi/bin:$PATH".
set -euo pipefail
cd "$(dirname "$0")/.."

module_dir="$PWD/tools/pulumi/cli"
bin_dir="$PWD/.tools/pulumi/bin"
stamp="$PWD/.tools/pulumi/stamp"
# The pinned CLI version is the one of pkg/v3 in the wrapper module (v3.270.0 is not served; see the README).
version=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' "$module_dir/go.mod")
[ -n "$version" ] || { echo "setup-pulumi: no github.com/pulumi/pulumi/pkg/v3 in $module_dir/go.mod" >&2; exit 1; }

# Plugins the stack needs at run time: the Node.js language host and the providers of the npm SDKs it uses.
# Docker, docker-build and GitLab are needed only when the mlserver or GitLab settings are on.
check_plugins() {
  local home="${PULUMI_HOME:-$HOME/.pulumi}" missing=() name version
  command -v pulumi-language-nodejs >/dev/null 2>&1 || [ -x "$(dirname "$(command -v pulumi)")/pulumi-language-nodejs" ] \
    || missing+=("pulumi-language-nodejs")
  for name in command postgresql; do
    version=$(node -p "require('@pulumi/$name/package.json').version" 2>/dev/null || true)
    command -v "pulumi-resource-$name" >/dev/null 2>&1 && continue
    [ -n "$version" ] && [ -d "$home/plugins/resource-$name-v$version" ] && continue
    missing+=("pulumi-resource-$name${version:+ $version}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-pulumi: not available offline, needed by pulumi preview/up: ${missing[*]}" >&2
  fi
}

own=""
if own=$(command -v pulumi 2>/dev/null) && [ "$own" != "$bin_dir/pulumi" ]; then
  echo "setup-pulumi: using the Pulumi CLI on PATH: $own ($(pulumi version 2>/dev/null || echo 'version unknown'))" >&2
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "setup-pulumi: no pulumi on PATH, and no Go 1.26 to build it with" >&2; exit 1; }

want="pulumi $version; $(go env GOVERSION); $(cat "$module_dir/go.mod" "$module_dir/go.sum" | sha256sum | cut -d' ' -f1)"
mkdir -p "$bin_dir"
# One build at a time (two clones' setups, or setup.sh run twice): the second waits, then finds the stamp.
exec 9>"$PWD/.tools/pulumi/lock"
flock 9
if [ -x "$bin_dir/pulumi" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "setup-pulumi: Pulumi CLI $version already built in .tools/pulumi/bin" >&2
else
  echo "setup-pulumi: building the Pulumi CLI $version from Go modules (first time: ~8 min on 2 cores, ~3.3 GB in .tools)" >&2
  # Go's caches live in the project (or where LAKEHOUSE_GO_CACHE points, e.g. a folder shared by several clones).
  # -modcacherw keeps the module cache deletable with a plain rm -rf.
  go_cache="${LAKEHOUSE_GO_CACHE:-$PWD/.tools/go-cache}"
  rm -f "$stamp"
  tmp=$(mktemp "$bin_dir/.pulumi.XXXXXX")
  (
    cd "$module_dir"
    export GOMODCACHE="$go_cache/mod" GOCACHE="$go_cache/build" GOTOOLCHAIN=local \
      GOFLAGS="-mod=readonly -modcacherw -buildvcs=false" CGO_ENABLED=0
    # Without the ~200 "go: downloading" lines.
    go build -trimpath -o "$tmp" \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi 2>&1 | { grep -v '^go: downloading ' || true; } >&2
  ) || { rm -f "$tmp"; exit 1; }
  chmod 755 "$tmp"
  mv "$tmp" "$bin_dir/pulumi"
  printf '%s\n' "$want" > "$stamp"
  echo "setup-pulumi: built $("$bin_dir/pulumi" version) into .tools/pulumi/bin" >&2
fi
exec 9>&-

export PATH="$bin_dir:$PATH"
check_plugins
