#!/bin/sh
# fuzz/run.sh BUILDDIR SECONDS — called by `make fuzz` after it built
# BUILDDIR/libuidmapper.a with clang -fsanitize=fuzzer-no-link,address,undefined.
# Links each fuzz/fuzz_*.c with libFuzzer, runs it for SECONDS from the seeds
# in fuzz/corpus/NAME (if any) and prints PASS:/FAIL: per target. A crash
# leaves its reproducer in BUILDDIR/fuzz-artifacts/NAME/.
set -u
build=${1:?usage: fuzz/run.sh BUILDDIR SECONDS}
secs=${2:?usage: fuzz/run.sh BUILDDIR SECONDS}
cd "$(dirname "$0")/.." || exit 1

libs=$(pkg-config --libs libprotobuf-c yaml-0.1 libarchive 2>/dev/null ||
       echo -lprotobuf-c -lyaml -larchive)
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
rc=0
for src in fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    bin=$build/$name
    work=$build/fuzz-corpus/$name
    artifacts=$build/fuzz-artifacts/$name/
    log=$build/$name.log
    mkdir -p "$work" "$artifacts"
    if ! clang -O1 -g -std=c17 -D_GNU_SOURCE -Isrc -I"$build/gen" \
            -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
            -o "$bin" "$src" "$build/libuidmapper.a" $libs; then
        echo "FAIL: $name (does not build)"
        rc=1
        continue
    fi
    seeds=
    [ -d "fuzz/corpus/$name" ] && seeds=fuzz/corpus/$name
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$artifacts" "$work" $seeds >"$log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1)
        echo "PASS: $name (${runs:-ran} in ${secs}s)"
    else
        echo "FAIL: $name (see $log; reproducer in $artifacts)"
        tail -n 30 "$log"
        rc=1
    fi
done
exit $rc
