#!/usr/bin/env bash
# Build the native core's libFuzzer harnesses (ASan + UBSan) and run each for a while.
#
#   bash tests/fuzz/run.sh [seconds]        # default 30 s per fuzzer, one fuzzer at a time
#
# Environment: FUZZERS (default "fuzz_bundle fuzz_manifest"), FUZZ_ARGS (extra libFuzzer
# flags, e.g. -runs=100000), PYTHON (for the seeds; default .venv/bin/python), CXX (clang++).
# Needs clang with libFuzzer (Debian: clang, libclang-rt-dev), libeigen3-dev, nlohmann-json3-dev.
# Builds into build/fuzz/, makes the seed corpora there if missing (tests/fuzz/make_seeds.py),
# saves crashing inputs to build/fuzz/crashes/, exits non-zero if the build fails or any
# fuzzer finds a crash, leak, timeout or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
out=build/fuzz
cxx=${CXX:-clang++}
python=${PYTHON:-.venv/bin/python}
fuzzers=${FUZZERS:-fuzz_bundle fuzz_manifest}

flags=(-g -O1 -std=c++17 -pthread -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       -Ibindings/include -Ibindings/src -I/usr/include/eigen3)
# On x86-64 the deformer's AVX2 kernel is built and fuzzed as the library builds it (CMakeLists.txt).
avx2=()
if [[ $(uname -m) == x86_64 ]]; then
  flags+=(-DSTYLEMM_AVX2_KERNEL)
  avx2=(-mavx2 -mfma)
fi
mkdir -p "$out/obj" "$out/crashes"

# The core's objects, compiled once for both harnesses (fuzzer-no-link: coverage without a
# main); an object is rebuilt when its source or any header is newer.
newest_header=$(ls -t bindings/src/*.h bindings/include/stylemm/*.h | head -n1)
objects=()
pids=()
for src in bindings/src/*.cpp; do
  obj="$out/obj/$(basename "${src%.cpp}").o"
  objects+=("$obj")
  if [[ ! -f $obj || $src -nt $obj || $newest_header -nt $obj ]]; then
    extra=()
    [[ $src == */sine_layer_avx2.cpp ]] && extra=("${avx2[@]}")
    "$cxx" "${flags[@]}" "${extra[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" &
    pids+=($!)
    if (( ${#pids[@]} >= 2 )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi  # two cores
  fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
for name in fuzz_bundle fuzz_manifest; do
  "$cxx" "${flags[@]}" -fsanitize=fuzzer tests/fuzz/$name.cpp "${objects[@]}" -o "$out/$name"
done

if [[ ! -d $out/corpus_bundle || ! -d $out/corpus_manifest || -z $(ls -A "$out/corpus_bundle") ]]; then
  "$python" tests/fuzz/make_seeds.py "$out"
fi

# Inputs: a whole .smm (the seeds are up to ~170 KB), or a manifest (seeds ~9 KB; the real
# format allows 1 MiB, but a bigger input only runs slower here).
declare -A corpus=([fuzz_bundle]=corpus_bundle [fuzz_manifest]=corpus_manifest)
declare -A options=([fuzz_bundle]="-max_len=196608" [fuzz_manifest]="-max_len=32768 -dict=tests/fuzz/manifest.dict")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for name in $fuzzers; do
  echo "== $name: $seconds s"
  # shellcheck disable=SC2086  # options and FUZZ_ARGS are lists of flags
  if ! "$out/$name" "$out/${corpus[$name]}" ${options[$name]} -timeout=10 -rss_limit_mb=2048 \
      -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/crashes/$name-" ${FUZZ_ARGS:-} \
      2>"$out/$name.log"; then
    failed+=("$name")
  fi
  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)|expectation violated|runtime error' \
    "$out/$name.log" || true
done
if (( ${#failed[@]} )); then
  echo "FAILED: ${failed[*]} (logs: $out/<name>.log, inputs: $out/crashes/)" >&2
  exit 1
fi
echo "ok: no crashes"
