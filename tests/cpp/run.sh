#!/usr/bin/env bash
# Configure, build and run the C++ tests (ctest) under AddressSanitizer + UndefinedBehaviorSanitizer.
# Standalone CMake: needs cmake, g++ (or clang), libeigen3-dev and catch2; no Python.
# Exits non-zero if the build or any test fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build/cpp-sanitize
# Every option is given explicitly so a cache left by an older run cannot change the build.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSTYLEMM_BUILD_TESTS=ON -DSTYLEMM_BUILD_PYTHON=OFF \
  -DSTYLEMM_SANITIZE=ON -DSTYLEMM_WERROR=ON >/dev/null
cmake --build "$build" -j2  # the machines have two cores
# Leak checking included; abort (not just log) on the first report so ctest sees a failure.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$build"
ctest --output-on-failure
