"""The native core (C ABI through pybind11) against the numpy reference, and the
numpy reference and the torch model code against each other."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import stylemm_runtime
from stylemm.facemodel.lbs import joint_transforms as torch_joint_transforms
from stylemm.facemodel.lbs import rodrigues as torch_rodrigues
from stylemm.facemodel.lbs import skin as torch_skin
from stylemm_runtime import skinning

PARENTS = np.array([-1, 0, 1, 1, 1], dtype=np.int32)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def native():
    return stylemm_runtime.native()  # fails the tests if the build has no native module


def _random_rig(seed: int, n: int = 500):
    rng = np.random.default_rng(seed)
    return {
        "template": rng.normal(size=(n, 3)).astype(np.float32),
        "deltas": (0.1 * rng.normal(size=(20, n, 3))).astype(np.float32),
        "coeffs": rng.normal(size=20).astype(np.float32),
        "rest_joints": rng.normal(size=(5, 3)).astype(np.float32),
        "axis_angle": (0.5 * rng.normal(size=(5, 3))).astype(np.float32),
        "weights": rng.dirichlet(np.ones(5), size=n).astype(np.float32),
    }


def test_header_version_matches_the_package_version(native):
    header = (ROOT / "bindings/include/stylemm/stylemm.h").read_text()
    parts = [int(re.search(rf"#define STYLEMM_VERSION_{k} (\d+)", header)[1]) for k in ("MAJOR", "MINOR", "PATCH")]
    assert native.version() == native.HEADER_VERSION == parts[0] * 10000 + parts[1] * 100 + parts[2]
    assert native.version() == stylemm_runtime.packed_version(stylemm_runtime.__version__)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_native_matches_numpy(native, seed):
    r = _random_rig(seed)
    blended = native.blend_shapes(r["template"], r["deltas"], r["coeffs"])
    reference = skinning.blend_shapes(r["template"], r["deltas"], r["coeffs"])
    np.testing.assert_allclose(blended, reference, rtol=1e-6, atol=1e-6)
    transforms = native.joint_transforms(r["rest_joints"], PARENTS, r["axis_angle"])
    np.testing.assert_allclose(transforms, skinning.joint_transforms(r["rest_joints"], PARENTS, r["axis_angle"]), atol=1e-6)
    posed = native.skin(blended, r["weights"], transforms)
    np.testing.assert_allclose(posed, skinning.skin(reference, r["weights"], transforms), rtol=1e-6, atol=1e-6)


def test_numpy_skinning_rotates_a_rigid_part_about_its_joint():
    rng = np.random.default_rng(3)
    joints = rng.normal(size=(5, 3))
    pose = np.zeros((5, 3))
    pose[2] = [0.4, -0.2, 0.1]  # the jaw (joint 2) only
    vertices = rng.normal(size=(50, 3))
    weights = np.zeros((50, 5))
    weights[:, 2] = 1
    posed = skinning.skin(vertices, weights, skinning.joint_transforms(joints, PARENTS, pose))
    rotation = skinning.rodrigues(pose[2:3])[0]
    np.testing.assert_allclose(posed, (vertices - joints[2]) @ rotation.T + joints[2], atol=1e-12)
    # Rodrigues against the matrix exponential of the skew matrix, computed independently.
    from scipy.linalg import expm

    x, y, z = pose[2]
    np.testing.assert_allclose(rotation, expm(np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])), atol=1e-12)


def test_torch_training_code_matches_the_numpy_runtime():
    r = _random_rig(4)
    ref_transforms = skinning.joint_transforms(r["rest_joints"], PARENTS, r["axis_angle"])
    rest = torch.as_tensor(r["rest_joints"], dtype=torch.float64)[None]
    rotations = torch_rodrigues(torch.as_tensor(r["axis_angle"], dtype=torch.float64))[None]
    _, transforms = torch_joint_transforms(rest, PARENTS.tolist(), rotations)
    np.testing.assert_allclose(transforms[0].numpy(), ref_transforms, atol=1e-6)
    posed = torch_skin(torch.as_tensor(r["template"], dtype=torch.float64)[None],
                       torch.as_tensor(r["weights"], dtype=torch.float64), transforms)  # fmt: skip
    np.testing.assert_allclose(posed[0].numpy(), skinning.skin(r["template"], r["weights"], ref_transforms), atol=1e-6)


def test_torch_lbs_gradients_match_finite_differences():
    r = _random_rig(5, n=8)
    rest = torch.as_tensor(r["rest_joints"], dtype=torch.float64)[None]
    verts = torch.as_tensor(r["template"], dtype=torch.float64)[None]
    weights = torch.as_tensor(r["weights"], dtype=torch.float64)

    def posed(axis_angle):
        _, transforms = torch_joint_transforms(rest, PARENTS.tolist(), torch_rodrigues(axis_angle)[None])
        return torch_skin(verts, weights, transforms)

    axis_angle = torch.as_tensor(r["axis_angle"], dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(posed, (axis_angle,))
    # Also at the zero rotation, where axis-angle has its singular point.
    assert torch.autograd.gradcheck(posed, (torch.zeros(5, 3, dtype=torch.float64, requires_grad=True),))


def test_bad_input_raises_value_errors_naming_the_problem(native):
    r = _random_rig(6)
    with pytest.raises(ValueError, match=r"deltas must have shape \(n, 500, 3\)"):
        native.blend_shapes(r["template"], r["deltas"][:, :10], r["coeffs"])
    with pytest.raises(ValueError, match="NaN or Inf"):
        native.blend_shapes(r["template"], r["deltas"], np.full(20, np.nan, np.float32))
    with pytest.raises(ValueError, match="parents"):
        native.joint_transforms(r["rest_joints"], np.array([-1, 0, 3, 1, 1], np.int32), r["axis_angle"])
    with pytest.raises(ValueError, match=r"transforms must have shape \(5, 4, 4\)"):
        native.skin(r["template"], r["weights"], np.zeros((4, 4, 4), np.float32))
    with pytest.raises(ValueError, match="parents"):
        skinning.joint_transforms(r["rest_joints"], [0, 0, 1, 1, 1], r["axis_angle"])
    with pytest.raises(ValueError, match="coeffs contains NaN"):
        skinning.blend_shapes(r["template"], r["deltas"], np.full(20, np.inf))


def test_the_runtime_never_imports_torch():
    import subprocess
    import sys

    code = "import sys, stylemm_runtime, stylemm_runtime.skinning; stylemm_runtime.native(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
