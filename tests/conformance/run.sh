#!/usr/bin/env bash
# Runs the NRI conformance suite: the real containerd/nri runtime side
# (pkg/adaptation, the version containerd vendors) drives the plugin binary.
#   tests/conformance/run.sh [--bench] [PLUGIN_BINARY]
# --bench runs the benchmarks (CreateContainer round trips) instead of the tests.
# The default binary is $BUILD/uid-mapper (BUILD as in the Makefile, default
# build/). Go modules come from the module proxy into the module cache; only
# the first run downloads them. go.sum pins them: go.mod is never rewritten.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$repo/$build ;; esac
bench=false
[ "${1:-}" = --bench ] && { bench=true; shift; }
bin=${1:-$build/uid-mapper}
if [ ! -x "$bin" ]; then
    echo "conformance: plugin binary $bin not found; run 'make' first" >&2
    exit 2
fi
export UID_MAPPER_BIN
UID_MAPPER_BIN=$(realpath "$bin")
export PATH=/usr/local/go/bin:$PATH
if ! command -v go >/dev/null; then
    echo "conformance: Go not found in /usr/local/go/bin or PATH; install Go 1.24 or later" >&2
    exit 2
fi
cd "$here"
if $bench; then
    exec go test -run '^$' -bench . -benchtime 2000x -benchmem ./...
fi
exec go test -v -count=1 -timeout 10m ./...
