#!/usr/bin/env bash
# Runs the NRI conformance suite: the real containerd/nri runtime side
# (pkg/adaptation, the version containerd vendors) drives the plugin binary.
#   tests/conformance/run.sh [PLUGIN_BINARY]    default: build/uid-mapper
# Go modules come from the module proxy into the usual module cache; the
# first run downloads them, later runs are offline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/uid-mapper}
if [ ! -x "$bin" ]; then
    echo "conformance: plugin binary $bin not found; run 'make' first" >&2
    exit 2
fi
export UID_MAPPER_BIN
UID_MAPPER_BIN=$(realpath "$bin")
export PATH=/usr/local/go/bin:$PATH
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
if ! command -v go >/dev/null; then
    echo "conformance: Go not found in /usr/local/go/bin or PATH" >&2
    exit 2
fi
cd "$here"
exec go test -v -count=1 -timeout 10m ./...
