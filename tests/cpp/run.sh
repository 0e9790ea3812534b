#!/usr/bin/env bash
# Build the C++ core and its tests under AddressSanitizer + UndefinedBehaviorSanitizer, run ctest.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build/cpp-sanitize
cmake -S . -B "$build" -DSTYLEMM_BUILD_TESTS=ON -DSTYLEMM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j2
ctest --test-dir "$build" --output-on-failure
