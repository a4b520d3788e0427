#!/bin/sh
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# and runs each for a bounded time; ends with "fuzz: N passed, N failed".
#
#   tests/fuzz/run.sh [SECONDS]     total time for all targets
#                                   (default $HOOKSPOOL_FUZZ_SECONDS, else 60)
# Work files (binaries, the growing corpus, crash inputs) go to
# $HOOKSPOOL_FUZZ_DIR (default /tmp/hookspool-fuzz). A crash input is kept
# there and named in the FAIL line; replay it with: DIR/fuzz_NAME FILE
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
total=${1:-${HOOKSPOOL_FUZZ_SECONDS:-60}}
work=${HOOKSPOOL_FUZZ_DIR:-/tmp/hookspool-fuzz}
targets="jwt jwks"
passed=0
failed=0

mkdir -p "$work/include"
# The sources start with autoconfig.h: use a configured build's, else a minimal one.
build=${HOOKSPOOL_BUILD:-$src/build}
if [ -f "$build/autoconfig.h" ]; then
    cp "$build/autoconfig.h" "$work/include/autoconfig.h"
else
    printf '#define _GNU_SOURCE 1\n#define PACKAGE_VERSION "fuzz"\n' >"$work/include/autoconfig.h"
fi

# Only what the parsers need: no Berkeley DB, no libcurl.
sources="src/util/base64url.c src/util/buf.c src/util/log.c src/util/random.c src/util/xalloc.c
  src/domain/jwks.c src/domain/jwt.c src/domain/scope.c src/domain/webhook.c"
n=$(echo $targets | wc -w)
per=$((total / n))
[ "$per" -ge 1 ] || per=1

for t in $targets; do
    bin="$work/fuzz_$t"
    paths=""
    for s in $sources; do paths="$paths $src/$s"; done
    if ! clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=undefined -I"$work/include" -I"$src/src" \
            $(pkg-config --cflags json-c libcrypto) "$src/tests/fuzz/fuzz_$t.c" $paths \
            $(pkg-config --libs json-c libcrypto) -o "$bin" 2>"$work/build_$t.log"; then
        cat "$work/build_$t.log"
        echo "FAIL fuzz_$t: does not build"
        failed=$((failed + 1))
        continue
    fi
    corpus="$work/corpus_$t"
    mkdir -p "$corpus" "$work/crashes_$t"
    dict=""
    [ -f "$src/tests/fuzz/$t.dict" ] && dict="-dict=$src/tests/fuzz/$t.dict"
    # New inputs go to the work corpus; the seeds in the source tree stay as they are.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        "$bin" -max_total_time="$per" -max_len=10000 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/crashes_$t/" $dict \
        "$corpus" "$src/tests/fuzz/corpus/$t" >"$work/run_$t.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run_$t.log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        echo "PASS fuzz_$t: ${runs:-?} inputs in ${per}s"
        passed=$((passed + 1))
    else
        tail -40 "$work/run_$t.log"
        crash=$(ls -t "$work/crashes_$t" 2>/dev/null | head -1)
        echo "FAIL fuzz_$t: exit $rc after ${runs:-?} inputs; input: $work/crashes_$t/$crash"
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
