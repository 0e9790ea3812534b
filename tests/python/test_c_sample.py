"""samples/c/animate.c, compiled as C99 against stylemm.h and the installed libstylemm, animates
a bundle with the very vertices and normals the Python binding of the same core gives (the
Unity interop test checks C# the same way, against the numpy reference)."""

import shutil
import subprocess

import numpy as np
import pytest

import stylemm_runtime
from c_sample import ROOT, build_sample, expected_frame, read_frame


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
    out = tmp_path / "frame.f32"
    subprocess.run([exe, bundle_path, out, "0.3", "0.7"], check=True)
    for written, expected in zip(read_frame(out), expected_frame(bundle_path, shape_value=0.3, jaw=0.7)):
        assert np.array_equal(written, expected)


def test_the_c_sample_animates_the_bundle_like_python(animate, bundle_path, tmp_path):
    _animates_like_python(animate, bundle_path, tmp_path)


def test_the_c_sample_animates_the_bundle_linked_statically(compiler, bundle_path, tmp_path):
    """STYLEMM_STATIC=ON, the build iOS apps link into themselves: the same frame, bit for bit."""
    build = build_sample(tmp_path / "build", compiler, "libstylemm.a", "animate", cmake=("-DSTYLEMM_STATIC=ON",),
                         link=("-lstdc++", "-lm", "-pthread"))  # fmt: skip
    _animates_like_python(build / "animate", bundle_path, tmp_path)


def test_the_c_sample_reports_a_missing_bundle(animate, tmp_path):
    result = subprocess.run([str(animate), str(tmp_path / "missing.smm"), str(tmp_path / "v.f32")], capture_output=True, text=True)
    assert result.returncode == 1 and "no bundle at" in result.stderr
