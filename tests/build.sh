#!/bin/sh
# Builds hookspool out of tree: tests/build.sh DIR [configure options...]
set -e
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$1; shift
[ -x "$src/configure" ] || "$src/autogen.sh" >/dev/null 2>&1
mkdir -p "$dir"
cd "$dir"
# Reconfigure when the options change, so build/ and build-asan/ stay what they say.
if [ ! -f Makefile ] || [ "$(cat .options 2>/dev/null)" != "$*" ]; then
    "$src/configure" --enable-werror "$@" >configure.out 2>&1 || { cat configure.out; exit 1; }
    echo "$*" >.options
fi
make -j"$(nproc)" >make.out 2>&1 || { cat make.out; exit 1; }
make -j"$(nproc)" check TESTS= HOOKSPOOL_SKIP_INTEGRATION=1 >>make.out 2>&1 || { cat make.out; exit 1; }
