#!/usr/bin/env bash
# Builds brink twice (release, and debug with AddressSanitizer + UBSan) and
# runs every test: unit tests in both builds, CLI/HDF5/Python tests on the
# release binary, and the hostile-input corpus on both binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

cmake --preset release
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

cmake --preset debug-asan
cmake --build --preset debug-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset debug-asan -j "$jobs"
# The hostile-input corpus (tests/cli/hostile) again, under the sanitizers.
BRINK="$PWD/build/debug-asan/brink" BRINK_SOURCE_DIR="$PWD" ASAN_OPTIONS=detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  tests/cli/test_faults.py -k "hostile_corpus or corpus_is_large_enough"
