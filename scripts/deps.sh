#!/usr/bin/env bash
# Installs what the build and the tests need and is missing, so that every
# Makefile target works on a fresh Debian machine without a manual step.
#   scripts/deps.sh build   C toolchain and libraries (default)
#   scripts/deps.sh test    + what the conformance and e2e suites use
set -euo pipefail

build_pkgs=(gcc clang make pkg-config libprotobuf-c-dev protobuf-c-compiler
            libyaml-dev libarchive-dev libzstd-dev zstd)
test_pkgs=(libclang-rt-14-dev util-linux iproute2 jq busybox-static
           containernetworking-plugins libseccomp-dev iptables time)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}; run 'sudo $0 ${1:-build}'" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
