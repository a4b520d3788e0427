#!/bin/sh
# What the bearer-token tests need beyond tests/deps.sh: clang and its
# libFuzzer/AddressSanitizer runtime for tests/fuzz/run.sh (the openssl CLI
# that signs test tokens is already in deps.sh).
exec "$(dirname "$0")/../deps.sh" clang libclang-rt-14-dev
