"""samples/c/animate.c built for other platforms, the frame it writes as the Python binding
of the same core computes it, and the normals a frame promises: what the tests of the core in
other languages and on other platforms (C on Linux, Windows and arm64; C#) compare against."""

import subprocess
from pathlib import Path

import numpy as np

import stylemm_runtime

ROOT = Path(__file__).resolve().parents[2]


def build_sample(build: Path, cc: str, library: str, program: str, cmake: tuple = (), link: tuple = ()) -> Path:
    """libstylemm built into ``build`` (Release, warnings as errors, plus the ``cmake``
    arguments: a toolchain, options) and animate.c linked against ``library`` there, with the
    ``link`` flags, as ``program``; returns ``build``."""
    subprocess.run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DSTYLEMM_WERROR=ON", *cmake],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["cmake", "--build", build, "-j2", "--target", "stylemm"], check=True, capture_output=True)
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", ROOT / "bindings/include",
                    ROOT / "samples/c/animate.c", build / library, *link, "-o", build / program],
                   check=True)  # fmt: skip
    return build


def toolchain(name: str) -> str:
    """The CMake argument that cross-compiles with cmake/``name``."""
    return f"-DCMAKE_TOOLCHAIN_FILE={ROOT / 'cmake' / name}"


def expected_frame(bundle_path, shape_value: float, jaw: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and normals (N, 3) of a character of shape (shape_value, ...), jawOpen at
    ``jaw``, the neck turned by 0.3 rad."""
    native = stylemm_runtime.native().Model(bundle_path)
    info = native.info
    weights = np.zeros(info["expressions"], np.float32)
    weights[stylemm_runtime.load(bundle_path).expression_names.index("jawOpen")] = jaw
    pose = np.zeros((info["joints"], 3), np.float32)
    pose[1, 1] = 0.3
    character = native.character(np.full(info["shape_dim"], shape_value, np.float32))
    return character.evaluate(weights, pose=pose, normals=True)


def read_frame(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """What animate.c wrote: vertices and normals (N, 3)."""
    vertices, normals = np.split(np.fromfile(path, dtype=np.float32).reshape(-1, 3), 2)
    return vertices, normals


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (N, 3) of a mesh, what smm_evaluate promises,
    computed in float64."""
    corners = vertices.astype(np.float64)[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros(vertices.shape, np.float64)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    return (normals / np.linalg.norm(normals, axis=1, keepdims=True)).astype(np.float32)
