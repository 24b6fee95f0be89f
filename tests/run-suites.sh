#!/usr/bin/env bash
# Runs the named suites (make targets unit, conformance, e2e, e2e-nested), keeps each log
# under build/results/, and ends with one line "N passed, N failed".
# C tests and e2e scenarios print "PASS: x" / "FAIL: x"; Go tests are counted
# from their top-level "--- PASS" / "--- FAIL" lines.
set -u
cd "$(dirname "$0")/.."
mkdir -p build/results
passed=0 failed=0 rc=0
for suite in "$@"; do
    log=build/results/$suite.log
    echo "=== suite $suite"
    case $suite in
        unit|conformance|e2e|e2e-nested) cmd=(make --no-print-directory "$suite") ;;
        *) echo "run-suites: unknown suite $suite" >&2; exit 2 ;;
    esac
    "${cmd[@]}" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    p=$(grep -cE '^(PASS: |--- PASS: )' "$log")
    f=$(grep -cE '^(FAIL: |--- FAIL: )' "$log")
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL: suite $suite exited with status $status"
        f=1
    fi
    [ "$status" -ne 0 ] && rc=1
    echo "=== suite $suite: $p passed, $f failed"
    passed=$((passed + p)) failed=$((failed + f))
done
[ "$failed" -ne 0 ] && rc=1
echo "$passed passed, $failed failed"
exit $rc
