#!/usr/bin/env bash
# Builds the pinned node components that `make e2e` and `make demo` run
# (containerd, its runc shim, ctr, runc with seccomp, crictl) from the Go
# module proxy, caches them outside the work tree so fresh clones (CI) reuse
# them, and prints the one directory that holds all of them.
#
#   scripts/components.sh            build what is missing, print the bin dir
#   UID_MAPPER_CACHE=DIR ...         cache root (default /var/cache/uid-nri-plugin)
#
# Each component lives in CACHE/components/NAME-VERSION/bin, so changing a pin
# builds the new version beside the old one instead of trusting a stale binary.
# Progress goes to stderr; stdout carries only the bin dir.
set -euo pipefail

CONTAINERD_VERSION=v2.3.4
RUNC_VERSION=v1.4.3
# cri-tools v1.35.x is not served by the module proxy ("This module version is
# not available"); v1.36.0 is, and speaks the cri-api (v0.36) that
# containerd v2.3.4 itself vendors.
CRICTL_VERSION=v1.36.0

cache=${UID_MAPPER_CACHE:-/var/cache/uid-nri-plugin}/components
export PATH=/usr/local/go/bin:$PATH
# The machine has two cores shared with other work: keep the Go build narrow,
# and never let go fetch a different toolchain behind our back.
export GOMAXPROCS=2 GOFLAGS="-p=2 -buildvcs=false" GOTOOLCHAIN=local

say() { echo "components: $*" >&2; }
die() { say "$*"; exit 1; }

command -v go >/dev/null || die "Go is not installed; install Go >= 1.26.3 into /usr/local/go"
mkdir -p "$cache"
# Serialise concurrent runs (a developer and CI on one machine) so that two
# builds never write the same directory.
exec 9>"$cache/.lock"
flock 9

# build NAME VERSION BUILD_FUNCTION: runs BUILD_FUNCTION with a scratch bin
# dir as $1 and moves it into place only when it succeeded, so an interrupted
# build never looks cached. (errexit is off inside the function, which runs as
# an if condition: each build step says `|| return`.)
build() {
    local name=$1 version=$2 fn=$3 dest="$cache/$1-$2"
    [ -d "$dest/bin" ] && return 0
    say "building $name $version (first run only; a few minutes)"
    local scratch
    scratch=$(mktemp -d "$cache/.build-$name.XXXXXX")
    if ! "$fn" "$scratch/bin" "$version" >&2; then
        rm -rf "$scratch"
        die "building $name $version failed (see the go output above)"
    fi
    rm -rf "$dest"
    mv "$scratch" "$dest"
}

build_containerd() {
    local pkg=github.com/containerd/containerd/v2
    local ldflags="-X $pkg/version.Version=$2 -X $pkg/version.Package=$pkg"
    GOBIN=$1 go install -tags urfave_cli_no_docs -ldflags "$ldflags" \
        "$pkg/cmd/containerd@$2" "$pkg/cmd/ctr@$2" || return
    # The shim runs in every pod: containerd builds it static, without cgo.
    GOBIN=$1 CGO_ENABLED=0 go install -tags "urfave_cli_no_docs no_grpc" \
        -ldflags "$ldflags" "$pkg/cmd/containerd-shim-runc-v2@$2"
}

build_runc() {
    # runc's Makefile: cgo for nsenter, seccomp via libseccomp, PIE.
    pkg-config --exists libseccomp || die "libseccomp-dev is missing; run scripts/deps.sh test"
    GOBIN=$1 CGO_ENABLED=1 go install -trimpath -buildmode=pie \
        -tags "seccomp urfave_cli_no_docs" \
        -ldflags "-X main.gitCommit=$2" "github.com/opencontainers/runc@$2"
}

build_crictl() {
    # cri-tools' go.mod has replace directives, which `go install @version`
    # refuses: build inside a writable copy of the downloaded module instead.
    local mod=sigs.k8s.io/cri-tools dir work
    dir=$(go mod download -json "$mod@$2" | jq -r '.Dir // empty')
    [ -n "$dir" ] || die "go mod download $mod@$2 found no module"
    work=$(mktemp -d)
    local rc=0
    { cp -r "$dir/." "$work" && chmod -R u+w "$work" &&
        (cd "$work" && go build -o "$1/crictl" \
            -ldflags "-X $mod/pkg/version.Version=$2" ./cmd/crictl); } || rc=$?
    rm -rf "$work"
    return $rc
}

build containerd "$CONTAINERD_VERSION" build_containerd
build runc "$RUNC_VERSION" build_runc
build crictl "$CRICTL_VERSION" build_crictl

# One directory with all of them for the caller's PATH, named by the pins.
set_dir="$cache/set-containerd-$CONTAINERD_VERSION-runc-$RUNC_VERSION-crictl-$CRICTL_VERSION/bin"
if [ ! -d "$set_dir" ]; then
    mkdir -p "$set_dir.tmp"
    ln -sf "$cache/containerd-$CONTAINERD_VERSION/bin/"* "$set_dir.tmp/"
    ln -sf "$cache/runc-$RUNC_VERSION/bin/runc" "$set_dir.tmp/"
    ln -sf "$cache/crictl-$CRICTL_VERSION/bin/crictl" "$set_dir.tmp/"
    mv "$set_dir.tmp" "$set_dir"
fi
echo "$set_dir"
