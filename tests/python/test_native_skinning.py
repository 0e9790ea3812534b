"""Blend shapes and skinning: the native core (stylemm_runtime._native, the C ABI through
pybind11) against the numpy reference, the numpy reference against independent
computations, and the error paths of both.

The native module is required: where it is missing these tests error instead of skipping.
"""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import stylemm_runtime
from stylemm_runtime import skinning

ROOT = Path(__file__).resolve().parents[2]
PARENTS = np.array([-1, 0, 1, 1, 1], dtype=np.int32)  # a root, one joint, and three children of it


def assert_close(actual, expected, tol=1e-6):
    """Within tol, relative to the largest magnitude in `expected` once that exceeds 1.

    float32 holds about 7 digits, so large values can only match relatively; per element
    relative error is meaningless where terms cancel to near zero.
    """
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol * scale)


def random_rig(seed: int, n: int = 500, scale: float = 1.0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "template": (scale * rng.normal(size=(n, 3))).astype(np.float32),
        "deltas": (0.1 * scale * rng.normal(size=(20, n, 3))).astype(np.float32),
        "coeffs": rng.normal(size=20).astype(np.float32),
        "rest_joints": (scale * rng.normal(size=(5, 3))).astype(np.float32),
        "axis_angle": (0.5 * rng.normal(size=(5, 3))).astype(np.float32),
        "weights": rng.dirichlet(np.ones(5), size=n).astype(np.float32),
    }


def test_versions_agree(native):
    header = (ROOT / "bindings/include/stylemm/stylemm.h").read_text()
    parts = (int(re.search(rf"#define STYLEMM_VERSION_{k} (\d+)", header)[1]) for k in ("MAJOR", "MINOR", "PATCH"))
    major, minor, patch = parts
    assert native.version() == native.HEADER_VERSION == major * 10000 + minor * 100 + patch
    assert native.__version__ == f"{major}.{minor}.{patch}"
    # One version for the C ABI and the Python distribution (the runtime refuses a mismatch).
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == native.__version__
    assert stylemm_runtime.__version__ == native.__version__


@pytest.mark.parametrize("scale", [1.0, 100.0], ids=["metres", "centimetres"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_native_matches_the_numpy_reference(native, seed, scale):
    r = random_rig(seed, scale=scale)
    blended = native.blend_shapes(r["template"], r["deltas"], r["coeffs"])
    assert blended.dtype == np.float32 and blended.shape == (500, 3)
    assert_close(blended, skinning.blend_shapes(r["template"], r["deltas"], r["coeffs"]))

    transforms = native.joint_transforms(r["rest_joints"], PARENTS, r["axis_angle"])
    assert transforms.dtype == np.float32 and transforms.shape == (5, 4, 4)
    reference = skinning.joint_transforms(r["rest_joints"], PARENTS, skinning.rodrigues(r["axis_angle"]))
    assert_close(transforms, reference)

    # Same float32 inputs on both sides, so only the skinning itself is compared.
    posed = native.skin(blended, r["weights"], transforms)
    assert_close(posed, skinning.skin(blended, r["weights"], transforms))


def test_native_converts_other_dtypes_and_layouts(native):
    r = random_rig(3)
    reference_transforms = native.joint_transforms(r["rest_joints"], PARENTS, r["axis_angle"])
    expected = native.skin(r["template"], r["weights"], reference_transforms)
    # float64 lists, int64 parents, Fortran order, a strided view: converted, same result.
    transforms = native.joint_transforms(
        r["rest_joints"].astype(np.float64).tolist(), PARENTS.astype(np.int64), np.asfortranarray(r["axis_angle"])
    )
    wide = np.zeros((500, 6), np.float32)
    wide[:, ::2] = r["template"]
    posed = native.skin(wide[:, ::2], np.asfortranarray(r["weights"].astype(np.float64)), transforms)
    np.testing.assert_array_equal(posed, expected)


def test_out_is_written_in_place(native):
    r = random_rig(4)
    vertices = r["template"].copy()
    assert native.blend_shapes(vertices, r["deltas"], r["coeffs"], out=vertices) is vertices
    assert_close(vertices, skinning.blend_shapes(r["template"], r["deltas"], r["coeffs"]))

    transforms = np.empty((5, 4, 4), np.float32)
    assert native.joint_transforms(r["rest_joints"], PARENTS, r["axis_angle"], out=transforms) is transforms
    before = vertices.copy()
    assert native.skin(vertices, r["weights"], transforms, out=vertices) is vertices
    assert_close(vertices, skinning.skin(before, r["weights"], transforms))


def test_rodrigues_matches_the_matrix_exponential():
    rng = np.random.default_rng(5)
    axis_angle = np.concatenate([rng.normal(size=(6, 3)), [[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [0.0, 0.0, np.pi]]])
    rotations = skinning.rodrigues(axis_angle)
    for r, rotation in zip(axis_angle, rotations):
        skew = np.array([[0, -r[2], r[1]], [r[2], 0, -r[0]], [-r[1], r[0], 0]])
        # exp(skew) by its Taylor series: independent of Rodrigues' closed form.
        term, exponential = np.eye(3), np.eye(3)
        for k in range(1, 40):
            term = term @ skew / k
            exponential = exponential + term
        np.testing.assert_allclose(rotation, exponential, atol=1e-12)
    # A half turn about z, written out.
    np.testing.assert_allclose(rotations[-1], np.diag([-1.0, -1.0, 1.0]), atol=1e-12)


def test_skinning_turns_a_rigidly_weighted_part_about_its_joint():
    rng = np.random.default_rng(6)
    joints = rng.normal(size=(5, 3))
    pose = np.zeros((5, 3))
    pose[3] = [0.4, -0.2, 0.1]  # joint 3 only
    vertices = rng.normal(size=(50, 3))
    weights = np.zeros((50, 5))
    weights[:, 3] = 1
    rotation = skinning.rodrigues(pose)[3]
    posed = skinning.skin(vertices, weights, skinning.joint_transforms(joints, PARENTS, skinning.rodrigues(pose)))
    np.testing.assert_allclose(posed, (vertices - joints[3]) @ rotation.T + joints[3], atol=1e-12)


def test_skinning_composes_rotations_down_the_chain_and_blends_linearly():
    rng = np.random.default_rng(7)
    c = rng.normal(size=(5, 3))
    pose = np.zeros((5, 3))
    pose[1], pose[3] = [0.0, 0.3, 0.0], [0.5, 0.0, -0.2]
    r1, r3 = skinning.rodrigues(pose)[[1, 3]]
    transforms = skinning.joint_transforms(c, PARENTS, skinning.rodrigues(pose))
    v = rng.normal(size=(20, 3))
    on = lambda j: np.eye(5)[[j] * len(v)]  # noqa: E731 - every vertex fully on joint j
    on_3 = skinning.skin(v, on(3), transforms)
    # Joint 3 turns about its pivot, then everything below joint 1 turns about joint 1.
    np.testing.assert_allclose(on_3, ((v - c[3]) @ r3.T + c[3] - c[1]) @ r1.T + c[1], atol=1e-12)
    on_4 = skinning.skin(v, on(4), transforms)  # joint 4 follows joint 1 only
    np.testing.assert_allclose(on_4, (v - c[1]) @ r1.T + c[1], atol=1e-12)
    split = skinning.skin(v, 0.25 * on(3) + 0.75 * on(4), transforms)
    np.testing.assert_allclose(split, 0.25 * on_3 + 0.75 * on_4, atol=1e-12)


def _read_only(shape):
    array = np.zeros(shape, np.float32)
    array.flags.writeable = False
    return array


# (call on the native module and a random rig, the ValueError message it must match)
NATIVE_ERRORS = [
    pytest.param(lambda n, r: n.blend_shapes(r["template"], r["deltas"][:, :10], r["coeffs"]),
                 r"deltas must have shape \(K, 500, 3\), got \(20, 10, 3\)", id="deltas-shape"),
    pytest.param(lambda n, r: n.blend_shapes(r["template"], r["deltas"], r["coeffs"][:19]),
                 r"coeffs must have shape \(20,\), got \(19,\)", id="coeffs-shape"),
    pytest.param(lambda n, r: n.blend_shapes(r["template"], r["deltas"], np.full(20, np.nan, np.float32)),
                 r"blend_shapes: coeffs contains NaN or Inf", id="coeffs-nan"),
    pytest.param(lambda n, r: n.blend_shapes(r["template"] * np.inf, r["deltas"], r["coeffs"]),
                 r"blend_shapes: template contains NaN or Inf", id="template-inf"),
    # deltas are not scanned (model data, see stylemm.h): their NaN is refused by skin.
    pytest.param(lambda n, r: n.skin(n.blend_shapes(r["template"], r["deltas"] * np.nan, r["coeffs"]), r["weights"],
                                     np.tile(np.eye(4), (5, 1, 1))),
                 r"skin: vertices contains NaN or Inf", id="deltas-nan-caught-by-skin"),
    pytest.param(lambda n, r: n.blend_shapes(r["template"], r["deltas"], np.full(20, 1e300)),
                 r"coeffs contains NaN or Inf \(after conversion to float32\)", id="float32-overflow",
                 marks=pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")),
    pytest.param(lambda n, r: n.blend_shapes(np.zeros((0, 3)), np.zeros((1, 0, 3)), np.ones(1)),
                 r"counts must be positive.*got N = 0 vertices", id="empty"),
    pytest.param(lambda n, r: n.blend_shapes("abc", r["deltas"], r["coeffs"]),
                 r"template must hold real numbers", id="strings"),
    pytest.param(lambda n, r: n.joint_transforms(r["rest_joints"], [-1, 0, 3, 1, 1], r["axis_angle"]),
                 r"joint_transforms: invalid parents.*got \[-1, 0, 3, 1, 1\]", id="parents-order"),
    pytest.param(lambda n, r: n.joint_transforms(r["rest_joints"], [0, 0, 1, 1, 1], r["axis_angle"]),
                 r"invalid parents.*parents\[0\] == -1", id="parents-no-root"),
    pytest.param(lambda n, r: n.joint_transforms(r["rest_joints"], [-1.0, 0.5, 1, 1, 1], r["axis_angle"]),
                 r"parents must be a signed integer array", id="parents-float"),
    pytest.param(lambda n, r: n.joint_transforms(r["rest_joints"], np.array([2**64 - 1, 0, 1, 1, 1], np.uint64),
                                                 r["axis_angle"]),
                 r"parents must be a signed integer array .*got dtype uint64", id="parents-unsigned"),
    pytest.param(lambda n, r: n.joint_transforms(r["rest_joints"], [-1, 0, 2**40, 1, 1], r["axis_angle"]),
                 r"parents\[2\] = 1099511627776 is not a joint index", id="parents-huge"),
    pytest.param(lambda n, r: n.joint_transforms(r["rest_joints"], [-1, 0, 1], r["axis_angle"]),
                 r"parents must have shape \(5,\), got \(3,\)", id="parents-length"),
    pytest.param(lambda n, r: n.joint_transforms(r["rest_joints"], PARENTS, np.full((5, 3), np.nan)),
                 r"joint_transforms: axis_angle contains NaN or Inf", id="pose-nan"),
    pytest.param(lambda n, r: n.joint_transforms(r["rest_joints"], PARENTS, np.zeros((5, 3, 3))),
                 r"axis_angle must have shape \(5, 3\), got \(5, 3, 3\)", id="rotations-for-axis-angle"),
    pytest.param(lambda n, r: n.skin(r["template"], r["weights"], np.zeros((4, 4, 4), np.float32)),
                 r"transforms must have shape \(5, 4, 4\), got \(4, 4, 4\)", id="transforms-shape"),
    pytest.param(lambda n, r: n.skin(r["template"], r["weights"][:10], np.zeros((5, 4, 4))),
                 r"weights must have shape \(500, J\), got \(10, 5\)", id="weights-shape"),
    pytest.param(lambda n, r: n.skin(r["template"], r["weights"] * np.nan, np.zeros((5, 4, 4))),
                 r"skin: weights contains NaN or Inf", id="weights-nan"),
    pytest.param(lambda n, r: n.skin(r["template"] + 1j, r["weights"], np.zeros((5, 4, 4))),
                 r"vertices must hold real numbers \(float32 preferred\), got dtype complex64", id="complex"),
    pytest.param(lambda n, r: n.skin(r["template"], r["weights"], np.zeros((5, 4, 4)), out=np.zeros((500, 3))),
                 r"out must be a writeable, C-contiguous float32 array, got dtype float64", id="out-dtype"),
    pytest.param(lambda n, r: n.skin(r["template"], r["weights"], np.zeros((5, 4, 4)),
                                     out=np.zeros((5, 3), np.float32)),
                 r"out must have shape \(500, 3\), got \(5, 3\)", id="out-shape"),
    pytest.param(lambda n, r: n.blend_shapes(r["template"], r["deltas"], r["coeffs"], out=_read_only((500, 3))),
                 r"out must be a writeable, C-contiguous float32 array", id="out-read-only"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), NATIVE_ERRORS)
def test_native_errors_name_the_problem(native, call, message):
    with pytest.raises(ValueError, match=message):
        call(native, random_rig(8))


REFERENCE_ERRORS = [
    pytest.param(lambda r: skinning.blend_shapes(r["template"], r["deltas"], np.full(20, np.inf)),
                 r"coeffs contains NaN or Inf", id="coeffs-inf"),
    pytest.param(lambda r: skinning.blend_shapes(r["template"], r["deltas"][:, :10], r["coeffs"]),
                 r"deltas must have shape \(K, 500, 3\), got \(20, 10, 3\)", id="deltas-shape"),
    pytest.param(lambda r: skinning.joint_transforms(r["rest_joints"], [0, 0, 1, 1, 1], np.tile(np.eye(3), (5, 1, 1))),
                 r"parents must satisfy parents\[0\] == -1 and 0 <= parents\[j\] < j .*got \[0, 0, 1, 1, 1\]",
                 id="parents-no-root"),
    pytest.param(lambda r: skinning.joint_transforms(r["rest_joints"], [-1.0, 0.5, 1, 1, 1], np.zeros((5, 3, 3))),
                 r"parents must be a signed integer array", id="parents-float"),
    pytest.param(lambda r: skinning.joint_transforms(r["rest_joints"], PARENTS, r["axis_angle"]),
                 r"rotations must have shape \(5, 3, 3\), got \(5, 3\)", id="axis-angle-for-rotations"),
    pytest.param(lambda r: skinning.rodrigues(np.zeros(3)),
                 r"axis_angle must have shape \(J, 3\), got \(3,\)", id="rodrigues-shape"),
    pytest.param(lambda r: skinning.skin(r["template"], r["weights"].T, np.zeros((5, 4, 4))),
                 r"weights must have shape \(500, J\), got \(5, 500\)", id="weights-transposed"),
    pytest.param(lambda r: skinning.skin(r["template"], r["weights"], np.full((5, 4, 4), np.nan)),
                 r"transforms contains NaN or Inf", id="transforms-nan"),
    pytest.param(lambda r: skinning.skin("abc", r["weights"], np.zeros((5, 4, 4))),
                 r"vertices must hold real numbers", id="strings"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), REFERENCE_ERRORS)
def test_reference_errors_name_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call(random_rig(8))


def test_a_stale_native_build_is_refused(native, monkeypatch):
    monkeypatch.setattr(stylemm_runtime, "_native_module", None)
    monkeypatch.setattr(stylemm_runtime, "__version__", "9.9.9")
    with pytest.raises(ImportError, match=r"_native is version .* but the stylemm package is 9.9.9.*pip install"):
        stylemm_runtime.native()
    assert not stylemm_runtime.has_native()


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_runtime_works_without_the_native_module():
    code = """
import sys
sys.modules["stylemm_runtime._native"] = None  # as if it had not been built
import numpy as np, stylemm_runtime
from stylemm_runtime import skinning
assert not stylemm_runtime.has_native()
try:
    stylemm_runtime.native()
except ImportError as e:
    assert "pip install" in str(e), e
else:
    raise AssertionError("native() did not raise")
print(skinning.blend_shapes(np.zeros((2, 3)), np.ones((1, 2, 3)), [2.0]).sum())
"""
    assert _run(code) == "12.0"


def test_the_runtime_never_imports_torch():
    code = "import sys, stylemm_runtime.skinning; stylemm_runtime.native(); print('torch' in sys.modules)"
    assert _run(code) == "False"


def test_the_torch_training_code_matches_the_numpy_runtime():
    torch = pytest.importorskip("torch")
    lbs = pytest.importorskip("stylemm.facemodel.lbs")
    r = random_rig(9)
    rotations = skinning.rodrigues(r["axis_angle"])
    reference = skinning.joint_transforms(r["rest_joints"], PARENTS, rotations)
    as64 = lambda a: torch.as_tensor(np.asarray(a, np.float64))  # noqa: E731
    np.testing.assert_allclose(lbs.rodrigues(as64(r["axis_angle"])).numpy(), rotations, atol=1e-12)
    _, transforms = lbs.joint_transforms(as64(r["rest_joints"])[None], PARENTS.tolist(), as64(rotations)[None])
    np.testing.assert_allclose(transforms[0].numpy(), reference, atol=1e-12)
    posed = lbs.skin(as64(r["template"])[None], as64(r["weights"]), transforms)
    np.testing.assert_allclose(posed[0].numpy(), skinning.skin(r["template"], r["weights"], reference), atol=1e-12)


def test_the_torch_lbs_gradients_match_finite_differences():
    # The training side differentiates through the same convention; its gradient is checked
    # here, next to the reference it must agree with.
    torch = pytest.importorskip("torch")
    lbs = pytest.importorskip("stylemm.facemodel.lbs")
    r = random_rig(10, n=8)
    rest = torch.as_tensor(r["rest_joints"], dtype=torch.float64)[None]
    vertices = torch.as_tensor(r["template"], dtype=torch.float64)[None]
    weights = torch.as_tensor(r["weights"], dtype=torch.float64)

    def posed(axis_angle):
        _, transforms = lbs.joint_transforms(rest, PARENTS.tolist(), lbs.rodrigues(axis_angle)[None])
        return lbs.skin(vertices, weights, transforms)

    assert torch.autograd.gradcheck(posed, (torch.as_tensor(r["axis_angle"], dtype=torch.float64).requires_grad_(),))
    # Also at the zero rotation, where axis-angle is singular.
    assert torch.autograd.gradcheck(posed, (torch.zeros(5, 3, dtype=torch.float64, requires_grad=True),))
