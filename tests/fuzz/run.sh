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
# Every tests/fuzz/fuzz_NAME.c is a target.
targets=$(cd "$src/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
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

# src/util, src/domain and the router, instrumented, in one archive: each target links
# only the objects it uses (so no Berkeley DB or libcurl unless it needs them).
rm -rf "$work/obj"
mkdir -p "$work/obj"
cflags="-g -O1 -std=gnu11 -fno-sanitize-recover=undefined -I$work/include -I$src/src
  $(pkg-config --cflags json-c libcrypto libcurl)"
export cflags work
if ! ls "$src"/src/util/*.c "$src"/src/domain/*.c "$src"/src/api/router.c | xargs -P "$(nproc)" -I{} sh -c \
        'clang -c $cflags -fsanitize=fuzzer-no-link,address,undefined "{}" \
         -o "$work/obj/$(basename "$(dirname "{}")")_$(basename "{}" .c).o"' \
        >"$work/build_lib.log" 2>&1 ||
   ! ar rcs "$work/libfuzzsrc.a" "$work"/obj/*.o 2>>"$work/build_lib.log"; then
    cat "$work/build_lib.log"
    echo "FAIL fuzz: src/util and src/domain do not build with clang"
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi
libs="$work/libfuzzsrc.a $(pkg-config --libs json-c libcrypto libcurl) -ldb-5.3"
n=$(echo $targets | wc -w)
per=$((total / n))
[ "$per" -ge 1 ] || per=1

for t in $targets; do
    bin="$work/fuzz_$t"
    if ! clang $cflags -fsanitize=fuzzer,address,undefined "$src/tests/fuzz/fuzz_$t.c" \
            $libs -o "$bin" 2>"$work/build_$t.log"; then
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
