"""libstylemm cross-compiled for Windows (MinGW-w64, cmake/mingw-w64.cmake) and the C sample
run on it under Wine: the DLL exports the C ABI, needs nothing beyond Windows itself, and
animates a bundle with the very vertices and normals of the Linux build."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from c_sample import ROOT, build_sample, check_seed_stream, expected_frame, read_frame, toolchain

CC = "x86_64-w64-mingw32-gcc-posix"
OBJDUMP = "x86_64-w64-mingw32-objdump"
INSTALL = "apt-get install g++-mingw-w64-x86-64-posix wine64 (./dev.sh installs them)"
# DLLs that every Windows has: a plugin must not need the MinGW runtime beside it.
WINDOWS_DLLS = {"KERNEL32.dll", "msvcrt.dll"}


def _wine() -> str:
    # Debian's wine64 package installs the loader outside PATH unless the `wine` package is there too.
    wine = shutil.which("wine64") or shutil.which("wine") or "/usr/lib/wine/wine64"
    assert Path(wine).exists(), f"Wine is needed to run the Windows build: {INSTALL}"
    return wine


@pytest.fixture(scope="module")
def windows_build(tmp_path_factory):
    assert shutil.which(CC), f"MinGW-w64 is needed to build for Windows: {INSTALL}"
    build = tmp_path_factory.mktemp("windows")
    return build_sample(build, CC, "stylemm.dll", "animate.exe", cmake=(toolchain("mingw-w64.cmake"),))


def _imports_and_exports(dll: Path) -> tuple[set[str], set[str]]:
    lines = subprocess.run([OBJDUMP, "-p", dll], check=True, capture_output=True, text=True).stdout.splitlines()
    imports = {line.split("DLL Name:")[1].strip() for line in lines if "DLL Name:" in line}
    start = next(i for i, line in enumerate(lines) if "[Ordinal/Name Pointer] Table" in line)
    exports = set()
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        exports.add(line.split("]")[1].strip())
    return imports, exports


def test_the_dll_exports_only_the_c_abi_and_needs_only_windows(windows_build):
    imports, exports = _imports_and_exports(windows_build / "stylemm.dll")
    assert imports == WINDOWS_DLLS
    header = (ROOT / "bindings/include/stylemm/stylemm.h").read_text()
    assert exports and all(name.startswith("smm_") and f"{name}(" in header for name in exports)


def _run_on_wine(windows_build, tmp_path, *args) -> None:
    env = {**os.environ, "WINEPREFIX": str(tmp_path / "wine"), "WINEDEBUG": "-all"}
    subprocess.run([_wine(), *args], check=True, env=env, cwd=windows_build, capture_output=True)


def test_the_c_sample_animates_the_bundle_on_windows_like_on_linux(windows_build, bundle_path, tmp_path):
    out = tmp_path / "frame.f32"
    _run_on_wine(windows_build, tmp_path, windows_build / "animate.exe", bundle_path, out, "7", "0.7")
    # The same compiler version and the same kernels (chosen by the same CPU) on both: bit for
    # bit, and the character of seed 7 is model.character(seed=7)'s.
    expected = expected_frame(bundle_path, seed=7, jaw=0.7)
    for written, wanted in zip(read_frame(out, len(expected[0])), expected):
        assert written.tobytes() == wanted.tobytes()


def test_windows_draws_the_seed_streams_python_draws(windows_build, tmp_path):
    check_seed_stream(lambda args: _run_on_wine(windows_build, tmp_path, windows_build / "seed_animate.exe", *args),
                      tmp_path / "seeds.f32")  # fmt: skip
