"""libstylemm cross-compiled for 64-bit ARM Linux (cmake/aarch64-linux-gnu.cmake), the CPU of
phones and Apple Silicon, and the C sample run on it under QEMU: the build takes the portable
SIMD path and Eigen's NEON code instead of SSE and the AVX2 kernel, exports only the C ABI,
and animates a bundle with the vertices of the x86-64 build (to 1e-6 m) and their normals."""

import shutil
import subprocess

import numpy as np
import pytest

import stylemm_runtime
from c_sample import ROOT, build_sample, check_seed_stream, expected_frame, read_frame, toolchain, vertex_normals

CC = "aarch64-linux-gnu-gcc"
NM = "aarch64-linux-gnu-nm"
QEMU = "qemu-aarch64"
SYSROOT = "/usr/aarch64-linux-gnu"  # the arm64 C and C++ runtimes of Debian's cross compiler
INSTALL = "apt-get install g++-aarch64-linux-gnu qemu-user (./dev.sh installs them)"


@pytest.fixture(scope="module")
def arm64_build(tmp_path_factory):
    assert shutil.which(CC), f"an arm64 cross compiler is needed: {INSTALL}"
    build = tmp_path_factory.mktemp("arm64")
    return build_sample(build, CC, "libstylemm.so", "animate", cmake=(toolchain("aarch64-linux-gnu.cmake"),),
                        link=("-Wl,-rpath,$ORIGIN",))  # fmt: skip


def test_the_arm64_library_exports_only_the_c_abi_and_has_no_x86_kernel(arm64_build):
    library = arm64_build / "libstylemm.so"
    subprocess.run(["cmake", f"-DNM={NM}", f"-DLIBRARY={library}", "-P", ROOT / "tests/cpp/check_exports.cmake"],
                   check=True, capture_output=True)  # fmt: skip
    symbols = subprocess.run([NM, "-C", library], check=True, capture_output=True, text=True).stdout
    assert "stylemm::avx2_sine_layer()" in symbols  # the dispatch is there, and finds no kernel:
    assert "stylemm::sine_layer_avx2(" not in symbols


def _run_on_qemu(arm64_build, *args) -> None:
    assert shutil.which(QEMU), f"QEMU is needed to run the arm64 build: {INSTALL}"
    subprocess.run([QEMU, "-L", SYSROOT, *args], check=True, cwd=arm64_build, capture_output=True)


def test_the_c_sample_animates_the_bundle_on_arm64_like_on_x86(arm64_build, bundle_path, tmp_path):
    out = tmp_path / "frame.f32"
    _run_on_qemu(arm64_build, arm64_build / "animate", bundle_path, out, "7", "0.7")
    # Not bit for bit: GCC fuses a * b + c into one rounding on arm64 (it does not for
    # x86-64 without FMA), and Eigen's NEON and SSE products add in different orders. The
    # normals are checked against the arm64 vertices' own: the tiny test networks make small
    # triangles, whose normals differ by up to 2e-4 between the two builds' vertices.
    # The seed's values are bit for bit: smm_sample_normal is compiled without fused
    # multiply-adds (-ffp-contract=off), so the character of seed 7 is the same everywhere.
    expected, _, expected_seed = expected_frame(bundle_path, 7, 0.7)
    vertices, normals, seed_values = read_frame(out, len(expected))
    assert seed_values.tobytes() == expected_seed.tobytes()
    assert vertices.shape == expected.shape
    assert np.abs(vertices - expected).max() <= 1e-6  # metres
    faces = stylemm_runtime.load(bundle_path).faces
    assert np.abs(normals - vertex_normals(vertices, faces)).max() <= 1e-5


def test_arm64_draws_the_seed_streams_python_draws(arm64_build, tmp_path):
    check_seed_stream(lambda args: _run_on_qemu(arm64_build, arm64_build / "seed_animate", *args), tmp_path / "seeds.f32")
