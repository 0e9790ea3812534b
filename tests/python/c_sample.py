"""samples/c/animate.c built for other platforms, the frame it writes as the Python binding
of the same core computes it, and the normals a frame promises: what the tests of the core in
other languages and on other platforms (C on Linux, Windows and arm64; C#) compare against."""

import subprocess
from pathlib import Path

import numpy as np

import stylemm_runtime

ROOT = Path(__file__).resolve().parents[2]


# (seed, count) pairs every build must draw the same bytes for: zero, one and odd counts, the
# largest seed, and enough values for the polar method's rejections to matter.
SEED_CASES = [(7, 0), (7, 1), (7, 3), (0, 64), (2**64 - 1, 31), (2**63, 8), (123456789, 1001)]


def build_sample(build: Path, cc: str, library: str, program: str, cmake: tuple = (), link: tuple = ()) -> Path:
    """libstylemm built into ``build`` (Release, warnings as errors, plus the ``cmake``
    arguments: a toolchain, options) and animate.c linked against ``library`` there, with the
    ``link`` flags, as ``program``, and tests/cpp/seed_stream.c as ``seed_`` + ``program``;
    returns ``build``."""
    subprocess.run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DSTYLEMM_WERROR=ON", *cmake],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["cmake", "--build", build, "-j2", "--target", "stylemm"], check=True, capture_output=True)
    for source, name in (("samples/c/animate.c", program), ("tests/cpp/seed_stream.c", "seed_" + program)):
        subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", ROOT / "bindings/include", ROOT / source,
                        build / library, *link, "-o", build / name], check=True)  # fmt: skip
    return build


def check_seed_stream(run, out: Path) -> None:
    """run(args) runs seed_stream with args; its bytes must be stylemm_runtime.seeds', every case."""
    from stylemm_runtime import seeds

    run([out, *(str(v) for case in SEED_CASES for v in case)])
    expected = np.concatenate([seeds.sample_normal(seed, count) for seed, count in SEED_CASES])
    assert out.read_bytes() == expected.tobytes()


def toolchain(name: str) -> str:
    """The CMake argument that cross-compiles with cmake/``name``."""
    return f"-DCMAKE_TOOLCHAIN_FILE={ROOT / 'cmake' / name}"


def expected_frame(bundle_path, seed: int, jaw: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices and normals (N, 3) of the character of ``seed`` (model.character(seed=...)'s
    shape), jawOpen at ``jaw``, the neck turned by 0.3 rad, and the seed's K + Z values."""
    model = stylemm_runtime.load(bundle_path)
    character = model.character(seed=seed)
    native = stylemm_runtime.native().Model(bundle_path)
    info = native.info
    weights = np.zeros(info["expressions"], np.float32)
    weights[model.expression_names.index("jawOpen")] = jaw
    pose = np.zeros((info["joints"], 3), np.float32)
    pose[1, 1] = 0.3
    vertices, normals = native.character(character.shape).evaluate(weights, pose=pose, normals=True)
    return vertices, normals, np.concatenate([character.shape, character.texture_z])


def read_frame(path: Path, n_vertices: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What animate.c wrote: vertices and normals (N, 3), then the seed's K + Z values."""
    values = np.fromfile(path, dtype=np.float32)
    frame = values[: 6 * n_vertices].reshape(2, n_vertices, 3)
    return frame[0], frame[1], values[6 * n_vertices :]


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (N, 3) of a mesh, what smm_evaluate promises,
    computed in float64."""
    corners = vertices.astype(np.float64)[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros(vertices.shape, np.float64)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    return (normals / np.linalg.norm(normals, axis=1, keepdims=True)).astype(np.float32)
