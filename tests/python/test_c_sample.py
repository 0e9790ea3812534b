"""samples/c/animate.c, compiled as C99 against stylemm.h and the installed libstylemm, animates
a bundle with the very vertices and normals the Python binding of the same core gives (the
Unity interop test checks C# the same way, against the numpy reference)."""

import shutil
import subprocess

import numpy as np
import pytest

import stylemm_runtime
from c_sample import ROOT, build_sample, check_seed_stream, expected_frame, read_frame


@pytest.fixture(scope="module")
def compiler():
    found = shutil.which("cc") or shutil.which("gcc")
    assert found, "a C compiler is needed: apt-get install gcc (dev.sh installs g++, which brings it)"
    return found


@pytest.fixture(scope="module")
def animate(compiler, tmp_path_factory):
    library = stylemm_runtime.native_library()
    exe = tmp_path_factory.mktemp("c") / "animate"
    subprocess.run([compiler, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(ROOT / "bindings/include"),
                    str(ROOT / "samples/c/animate.c"), str(library), f"-Wl,-rpath,{library.parent}", "-o", str(exe)],
                   check=True)  # fmt: skip
    return exe


def _animates_like_python(exe, bundle_path, tmp_path) -> None:
    """The character of seed 7 (its shape and texture_z, bit for bit), animated bit for bit."""
    out = tmp_path / "frame.f32"
    subprocess.run([exe, bundle_path, out, "7", "0.7"], check=True)
    expected = expected_frame(bundle_path, seed=7, jaw=0.7)
    for written, wanted in zip(read_frame(out, len(expected[0])), expected):
        assert written.tobytes() == wanted.tobytes()


def test_the_c_sample_animates_the_bundle_like_python(animate, bundle_path, tmp_path):
    _animates_like_python(animate, bundle_path, tmp_path)


def test_c_draws_the_seed_streams_python_draws(compiler, tmp_path):
    library = stylemm_runtime.native_library()
    exe = tmp_path / "seed_stream"
    subprocess.run([compiler, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(ROOT / "bindings/include"),
                    str(ROOT / "tests/cpp/seed_stream.c"), str(library), f"-Wl,-rpath,{library.parent}", "-o", str(exe)],
                   check=True)  # fmt: skip
    check_seed_stream(lambda args: subprocess.run([exe, *args], check=True), tmp_path / "seeds.f32")


def test_the_c_sample_animates_the_bundle_linked_statically(compiler, bundle_path, tmp_path):
    """STYLEMM_STATIC=ON, the build iOS apps link into themselves: the same frame, bit for bit."""
    build = build_sample(tmp_path / "build", compiler, "libstylemm.a", "animate", cmake=("-DSTYLEMM_STATIC=ON",),
                         link=("-lstdc++", "-lm", "-pthread"))  # fmt: skip
    _animates_like_python(build / "animate", bundle_path, tmp_path)


def test_the_c_sample_reports_a_missing_bundle(animate, tmp_path):
    result = subprocess.run([str(animate), str(tmp_path / "missing.smm"), str(tmp_path / "v.f32")], capture_output=True, text=True)
    assert result.returncode == 1 and "no bundle at" in result.stderr
