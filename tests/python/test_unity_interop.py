"""The Unity sample's interop layer against the real native library, through mono.

samples/unity/Runtime/StyleMMNative.cs (P/Invoke declarations of the C ABI and their
wrappers) and StyleMMMeshLayout.cs are compiled with mcs together with a console program,
tests/mono/UnityInteropCheck.cs, and run with mono on libstylemm.so. A frame evaluated
through C# is compared with one computed here from stylemm_runtime's numpy reference: the
unit bake of the ONNX deformer, then linear blend skinning. Mono marshals P/Invoke as
Unity's Mono backend does; IL2CPP is not tested here.

mcs and mono are required (dev.sh installs them): where they are missing these tests fail
instead of skipping, as do the native tests without a native build.
"""

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

import stylemm_runtime
from c_sample import vertex_normals
from stylemm_runtime import baking, skinning

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "bindings/include/stylemm/stylemm.h"
SOURCES = [ROOT / "samples/unity/Runtime/StyleMMNative.cs", ROOT / "samples/unity/Runtime/StyleMMMeshLayout.cs",
           ROOT / "tests/mono/UnityInteropCheck.cs"]  # fmt: skip
MAX_ERROR_M = 0.05e-3  # 0.05 mm: two deformer engines (ONNX Runtime here, the native core there)


@pytest.fixture(scope="module")
def interop_check(tmp_path_factory):
    """A function running UnityInteropCheck.exe with the given arguments -> (returncode, stdout, stderr)."""
    missing = [tool for tool in ("mcs", "mono") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found; these tests need mono: apt-get install mono-mcs mono-runtime "
                    "(dev.sh installs them)")  # fmt: skip
    folder = tmp_path_factory.mktemp("mono")
    exe = folder / "UnityInteropCheck.exe"
    # Warnings as errors: the file ships to Unity projects, whose consoles show every warning.
    build = subprocess.run(["mcs", "-nologo", "-warn:4", "-warnaserror", "-target:exe", f"-out:{exe}", *map(str, SOURCES)],
                           capture_output=True, text=True)  # fmt: skip
    assert build.returncode == 0, f"mcs failed:\n{build.stdout}{build.stderr}"
    env = dict(os.environ, LD_LIBRARY_PATH=_library_folder(folder))

    def run(*args):
        result = subprocess.run(["mono", "--debug", str(exe), *map(str, args)], capture_output=True, text=True, env=env, timeout=300)
        return result.returncode, result.stdout, result.stderr

    return run


def _library_folder(folder: Path) -> str:
    """A folder where mono's DllImport("stylemm") finds the built library as libstylemm.so."""
    library = Path(stylemm_runtime.native_library())
    lib = folder / "lib"
    lib.mkdir()
    (lib / "libstylemm.so").symlink_to(library.resolve())
    return os.pathsep.join(filter(None, [str(lib), os.environ.get("LD_LIBRARY_PATH")]))


def _csv(values) -> str:
    return ",".join(repr(float(v)) for v in np.asarray(values, np.float32).ravel())  # repr: float32 exactly


def _keys(stdout: str) -> dict:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def _read(folder: Path, name: str, shape) -> np.ndarray:
    return np.fromfile(folder / name, np.int32 if name.endswith(".i32") else np.float32).reshape(shape)


def _frame(model):
    """A shape, an expression (several ARKit units at once) and a pose of every joint."""
    rng = np.random.default_rng(5)
    shape = rng.standard_normal(model.shape_dim).astype(np.float32)
    weights = model.expression_vector({"jawOpen": 0.7, "eyeBlinkLeft": 1.0, "mouthSmileRight": 0.4, "browInnerUp": 0.25})
    pose = np.zeros((len(model.joint_names), 3), np.float32)
    for name, value in {"global": [0.05, -0.2, 0.02], "neck": [0.1, 0.3, 0.0], "jaw": [0.25, 0.0, 0.0],
                        "left_eye": [0.0, 0.2, 0.0], "right_eye": [0.05, 0.2, 0.0]}.items():  # fmt: skip
        pose[model.joint_names.index(name)] = value
    return shape, weights, pose


def _expected_frame(model, shape, weights, pose):
    """The same frame from the numpy reference: unit bake, then skinning about the bake's joints."""
    morphs = baking.bake(model, shape, method="unit")
    rest_joints = model.joint_regressor @ morphs.neutral
    transforms = skinning.joint_transforms(rest_joints, model.parents, skinning.rodrigues(pose))
    return morphs, skinning.skin(morphs.mesh(weights), model.skin_weights, transforms)


def _header_statuses() -> dict:
    """smm_status from the header: {name without SMM_ / ERR_ and underscores, lower case: value}."""
    pairs = re.findall(r"\bSMM_(?:ERR_)?(\w+)\s*=\s*(\d+)", HEADER.read_text())
    return {name.replace("_", "").lower(): int(value) for name, value in pairs}


def _header_version() -> int:
    parts = {k: int(v) for k, v in re.findall(r"#define STYLEMM_VERSION_(MAJOR|MINOR|PATCH) (\d+)", HEADER.read_text())}
    return parts["MAJOR"] * 10000 + parts["MINOR"] * 100 + parts["PATCH"]


def test_a_frame_through_csharp_matches_the_numpy_reference(interop_check, bundle_path, tmp_path):
    model = stylemm_runtime.load(bundle_path)
    shape, weights, pose = _frame(model)
    code, stdout, stderr = interop_check("evaluate", bundle_path, _csv(shape), _csv(weights), _csv(pose), tmp_path)
    assert code == 0, stdout + stderr
    out = _keys(stdout)

    # The constants C# hard-codes are the header's.
    assert int(out["header_version"]) == int(out["library_version"]) == _header_version()
    assert out["check_version.next_minor"] == "Version"
    statuses = {key[len("status."):].lower(): int(value) for key, value in out.items() if key.startswith("status.")}
    assert statuses == _header_statuses()

    # ModelInfo's fields in smm_model_info's order, and the names.
    n, u = model.num_vertices, len(model.uvs)
    assert out["info"] == ",".join(map(str, [n, len(model.faces), u, model.shape_dim, len(model.expression_names),
                                             len(model.joint_names), model.texture_dim]))  # fmt: skip
    assert out["expression_names"].split(",") == model.expression_names
    assert out["joint_names"].split(",") == model.joint_names
    assert out["find_expression_ok"] == "True" and out["memory_info_equal"] == "True"
    np.testing.assert_array_equal(_read(tmp_path, "template.f32", (n, 3)), model.template)

    # The frame.
    morphs, expected = _expected_frame(model, shape, weights, pose)
    vertices = _read(tmp_path, "vertices.f32", (n, 3))
    error = np.abs(vertices - expected).max()
    normals = _read(tmp_path, "normals.f32", (n, 3))
    cosine = np.clip((normals * vertex_normals(expected, model.faces)).sum(axis=1), -1, 1)
    print(f"through C#: max vertex error {error * 1e3:.5f} mm, max normal angle {np.degrees(np.arccos(cosine.min())):.4f} deg")
    assert error <= MAX_ERROR_M, f"max vertex error {error * 1e3:.4f} mm"
    assert np.abs(_read(tmp_path, "neutral.f32", (n, 3)) - morphs.neutral).max() <= MAX_ERROR_M
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-5)
    assert cosine.min() >= np.cos(np.radians(1))  # within 1 degree

    # From memory, the same model: the same numbers, bit for bit.
    np.testing.assert_array_equal(_read(tmp_path, "memory_vertices.f32", (n, 3)), vertices)
    np.testing.assert_array_equal(_read(tmp_path, "memory_normals.f32", (n, 3)), normals)

    # The wrappers' promises: no allocation per frame, children disposed before their model.
    assert out["evaluate_allocated_bytes"] == "0" and out["memory_evaluate_allocated_bytes"] == "0"
    assert out["dispose_guard"] == "True"


def test_the_unity_mesh_layout(interop_check, bundle_path, tmp_path):
    """Render vertices from the core's UV-seam split, each at its triangle corners' position;
    winding reversed and v flipped for Unity's mirrored axes; the same mesh as the layout the
    sample built itself before (one render vertex per UV vertex), renumbered."""
    model = stylemm_runtime.load(bundle_path)
    shape, weights, pose = _frame(model)
    code, stdout, stderr = interop_check("evaluate", bundle_path, _csv(shape), _csv(weights), "-", tmp_path)
    assert code == 0, stdout + stderr
    f = len(model.faces)
    position_of_vertex, uv_of_vertex = _read(tmp_path, "position_of_vertex.i32", (-1,)), _read(tmp_path, "uv_of_vertex.i32", (-1,))
    triangles = _read(tmp_path, "triangles.i32", (f, 3))
    split = stylemm_runtime.native().split_uv_seams(model.faces, model.uv_faces, model.num_vertices, len(model.uvs))
    np.testing.assert_array_equal(position_of_vertex, split[0])
    np.testing.assert_array_equal(uv_of_vertex, split[1])
    np.testing.assert_array_equal(triangles, split[2][:, [0, 2, 1]])
    np.testing.assert_array_equal(position_of_vertex[triangles[:, [0, 2, 1]]], model.faces)
    np.testing.assert_array_equal(_read(tmp_path, "unity_uvs.f32", (-1, 2)),
                                  np.stack([model.uvs[uv_of_vertex, 0], 1 - model.uvs[uv_of_vertex, 1]], 1))  # fmt: skip
    # The old layout, computed here: render vertex u was UV vertex u, at the position its corners name.
    old_position = np.zeros(len(model.uvs), np.int64)
    old_position[model.uv_faces] = model.faces
    old_triangles = model.uv_faces[:, [0, 2, 1]]
    np.testing.assert_array_equal(old_position[uv_of_vertex], position_of_vertex)
    np.testing.assert_array_equal(uv_of_vertex[triangles], old_triangles)
    # Mirrored and re-wound, the triangles still face outward: Unity's front faces turn
    # clockwise on its left-handed screen, and the plain cross product (b - a) x (c - a) of such
    # a face points at the viewer (as Mesh.RecalculateNormals computes it). For every triangle
    # that is the bundle's outward normal (counter-clockwise, right-handed), mirrored.
    mirror = np.array([-1, 1, 1], np.float32)
    positions = _read(tmp_path, "vertices.f32", (-1, 3))
    unity_corners = (positions * mirror)[position_of_vertex][triangles]
    np.testing.assert_array_equal(_cross(unity_corners), _cross(positions[model.faces]) * mirror)


def test_a_seed_through_csharp_is_the_same_character(interop_check, bundle_path, tmp_path):
    """smm_sample_normal through P/Invoke: the bytes stylemm_runtime draws, and the shape of
    model.character(seed=7)."""
    from stylemm_runtime import seeds

    model = stylemm_runtime.load(bundle_path)
    shape, weights, _ = _frame(model)
    code, stdout, stderr = interop_check("evaluate", bundle_path, _csv(shape), _csv(weights), "-", tmp_path)
    assert code == 0, stdout + stderr
    k, z = model.shape_dim, model.texture_dim
    assert _read(tmp_path, "seed_7.f32", (-1,)).tobytes() == seeds.sample_normal(7, k + z).tobytes()
    assert _read(tmp_path, "seed_max.f32", (-1,)).tobytes() == seeds.sample_normal(2**64 - 1, 33).tobytes()
    assert _read(tmp_path, "shape_7.f32", (-1,)).tobytes() == model.character(seed=7).shape.tobytes()
    out = _keys(stdout)
    assert (out["sample_normal.null"], out["sample_normal.negative"]) == ("NullPointer", "InvalidArgument")


def _cross(corners):
    return np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])


def _tampered(bundle_path: Path, folder: Path) -> Path:
    """The bundle with one byte of faces.bin changed: the same size, another sha256."""
    out = folder / "tampered.smm"
    with zipfile.ZipFile(bundle_path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            data = bytearray(source.read(info))
            if info.filename == "faces.bin":
                data[len(data) // 2] ^= 0x01
            target.writestr(info, bytes(data))
    return out


# The messages should say what is wrong: which file, which member, which count.
@pytest.mark.parametrize("kind, bundle, status, code, named", [
    ("load", "missing", "IO", 5, "missing.smm"),
    ("load", "tampered", "BadBundle", 6, "faces.bin"),
    ("load-memory", "tampered", "BadBundle", 6, "faces.bin"),
    ("expression-size", "good", "Size", 8, "53"),
])  # fmt: skip
def test_errors_reach_csharp_as_exceptions_with_status_and_message(interop_check, bundle_path, tmp_path, kind, bundle,
                                                                    status, code, named):  # fmt: skip
    path = {"missing": tmp_path / "missing.smm", "good": bundle_path}.get(bundle) or _tampered(bundle_path, tmp_path)
    returncode, stdout, stderr = interop_check("error", kind, path)
    assert returncode == 0, stdout + stderr
    out = _keys(stdout)
    assert (out["status"], int(out["code"])) == (status, code), stdout
    assert named in out["message"], stdout
