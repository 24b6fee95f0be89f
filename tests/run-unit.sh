#!/usr/bin/env bash
# tests/run-unit.sh TEST... [--nested NODE TEST...]
# Runs each C unit test binary given; a binary that crashes counts as a
# failure. The tests after --nested run again under NODE (tests/
# usernetes_node), as root of a user namespace that holds only 2048 IDs, like
# a usernetes node; their lines read "PASS: nested:...". Where no such
# namespace can be made, each of them is reported as SKIP with the reason.
set -u
rc=0
tests=() node= nested=()
while [ $# -gt 0 ]; do
    if [ "$1" = --nested ]; then
        node=$2
        nested=("${@:3}")
        break
    fi
    tests+=("$1")
    shift
done

for t in "${tests[@]}"; do
    "$t"
    status=$?
    [ "$status" -eq 0 ] || { rc=1; echo "FAIL: $t exited with status $status"; }
done

[ ${#nested[@]} -gt 0 ] || exit $rc
map=$(mktemp)
trap 'rm -f "$map"' EXIT
echo "0 100000 2048" >"$map" # the node's IDs 0-2047, for uids and gids alike
if ! why=$("$node" "$map" "$map" true 2>&1); then
    for t in "${nested[@]}"; do
        echo "SKIP: nested:$t (${why//$'\n'/; })"
    done
    exit $rc
fi
for t in "${nested[@]}"; do
    "$node" "$map" "$map" "$t" | sed -u 's/^\(PASS\|FAIL\|SKIP\): /\1: nested:/'
    status=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] || { rc=1; echo "FAIL: nested:$t exited with status $status"; }
done
exit $rc
