#!/bin/sh
# What the bearer-token tests need beyond tests/deps.sh: clang and its
# libFuzzer/AddressSanitizer runtime for tests/fuzz/run.sh (the openssl CLI
# that signs test tokens is already in deps.sh). deps.sh installs only what
# is missing.
HOOKSPOOL_EXTRA_PACKAGES="clang libclang-rt-14-dev" exec "$(dirname "$0")/../deps.sh"
