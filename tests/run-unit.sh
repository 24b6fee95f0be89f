#!/usr/bin/env bash
# Runs each C unit test binary given; a binary that crashes counts as a failure.
set -u
rc=0
for t in "$@"; do
    "$t" || { rc=1; echo "FAIL: $t exited with status $?"; }
done
exit $rc
