"""FLAME loader on a FLAME-format pickle made in the test (no real FLAME file needed)."""

import pickle

import numpy as np
import pytest
import torch

from flame_fixture import N_EXPR, N_SHAPE, synthetic_flame, write_flame_pickle
from stylemm.facemodel import load
from stylemm.facemodel.flame import convert_flame, load_flame


@pytest.fixture()
def flame_file(tmp_path):
    arrays = synthetic_flame(np.random.default_rng(0))
    path = tmp_path / "generic_model.pkl"
    write_flame_pickle(path, arrays)
    return path, arrays


def numpy_flame(a, shape, expr, pose):
    """FLAME forward pass written independently with numpy (smplx's formulation)."""
    dirs = a["shapedirs"]
    v = a["v_template"] + dirs[:, :, :N_SHAPE] @ shape + dirs[:, :, N_SHAPE:] @ expr
    joints = a["J_regressor"].toarray() @ (a["v_template"] + dirs[:, :, :N_SHAPE] @ shape)

    def rot(r):
        angle = np.linalg.norm(r)
        if angle < 1e-12:
            return np.eye(3)
        k = r / angle
        K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K

    rots = [rot(r) for r in pose]
    feature = np.concatenate([(R - np.eye(3)).ravel() for R in rots[1:]])
    v = v + a["posedirs"] @ feature
    parents = [-1, 0, 1, 1, 1]
    world = []
    for j in range(5):
        local = np.eye(4)
        local[:3, :3] = rots[j]
        local[:3, 3] = joints[j] - (joints[parents[j]] if j else 0)
        world.append(local if j == 0 else world[parents[j]] @ local)
    skinning = []
    for j in range(5):
        m = world[j].copy()
        m[:3, 3] -= world[j][:3, :3] @ joints[j]
        skinning.append(m)
    blended = np.einsum("nj,jrc->nrc", a["weights"], np.stack(skinning))
    return np.einsum("nrc,nc->nr", blended[:, :3, :3], v) + blended[:, :3, 3]


def test_loader_gives_the_flame_interface(flame_file):
    path, a = flame_file
    model = load("flame", path=path)
    n = len(a["v_template"])
    assert model.name == "flame"
    assert (model.num_vertices, model.shape_dim, model.expression_dim) == (n, N_SHAPE, N_EXPR)
    assert model.joint_names == ["global", "neck", "jaw", "left_eye", "right_eye"]
    assert model.parents == [-1, 0, 1, 1, 1]
    assert model.posedirs.shape == (36, n, 3)
    assert len(model.uvs) == 0  # this file has no UVs: geometry only
    np.testing.assert_allclose(model.joint_regressor.numpy(), a["J_regressor"].toarray(), atol=1e-7)
    assert torch.allclose(model()[0], torch.as_tensor(a["v_template"], dtype=torch.float32), atol=1e-6)
    assert model.part_mask("left_eyeball").sum() == 4 and model.part_mask("right_eyeball").sum() == 4


def test_forward_matches_an_independent_numpy_flame(flame_file):
    path, a = flame_file
    model = load("flame", path=path)
    rng = np.random.default_rng(1)
    shape, expr = rng.normal(size=N_SHAPE), rng.normal(size=N_EXPR)
    pose = rng.normal(size=(5, 3)) * 0.3
    ours = model(shape=shape, expression=expr, pose=pose[None])[0].double().numpy()
    np.testing.assert_allclose(ours, numpy_flame(a, shape, expr, pose), atol=2e-6)


def test_jaw_rotation_moves_only_jaw_weighted_vertices(flame_file):
    path, a = flame_file
    model = load("flame", path=path)
    unweighted = torch.as_tensor(a["weights"][:, 2] == 0)
    posed = model(pose={"jaw": [0.2, 0.0, 0.0]})[0]
    # Only the pose correctives move vertices the jaw does not weight.
    rest_with_correctives = model.template + torch.einsum("p,pnc->nc", _feature(0.2), model.posedirs)
    assert torch.allclose(posed[unweighted], rest_with_correctives[unweighted], atol=1e-6)
    assert (posed[~unweighted] - rest_with_correctives[~unweighted]).norm(dim=1).max() > 1e-3


def _feature(angle):
    """Pose-corrective feature for a jaw rotation about X only."""
    from stylemm.facemodel.lbs import rodrigues

    rots = torch.zeros(4, 3)
    rots[1, 0] = angle
    return (rodrigues(rots) - torch.eye(3)).reshape(-1)


def test_npz_conversion_round_trips(flame_file, tmp_path):
    path, _ = flame_file
    npz = tmp_path / "flame.npz"
    convert_flame(path, npz)
    assert load_flame(npz).digest() == load_flame(path).digest()
    assert not list(tmp_path.glob(".*.tmp*"))


def test_bad_files_get_clear_errors(flame_file, tmp_path):
    path, _ = flame_file
    with pytest.raises(FileNotFoundError, match="flame.is.tue.mpg.de"):
        load_flame(tmp_path / "nope.pkl")
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="not a readable FLAME pickle"):
        load_flame(truncated)
    broken_npz = tmp_path / "broken.npz"
    broken_npz.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ValueError, match="not a readable face-model .npz"):
        load_flame(broken_npz)


def test_masks_and_texture_space_are_used_when_given(flame_file, tmp_path):
    path, a = flame_file
    n = len(a["v_template"])
    masks = tmp_path / "FLAME_masks.pkl"
    masks.write_bytes(pickle.dumps({"face": np.arange(0, 30), "nose": np.arange(10, 14), "lips": np.arange(20, 25),
                                    "left_eyeball": np.arange(n - 8, n - 4)}, protocol=2))  # fmt: skip
    texture = tmp_path / "FLAME_texture.npz"
    vt = np.random.default_rng(2).uniform(size=(80, 2))
    np.savez(texture, vt=vt, ft=np.random.default_rng(3).integers(0, 80, size=a["f"].shape))
    model = load("flame", path=path, masks_path=masks, texture_space_path=texture)
    assert model.part_mask("nose").sum() == 4 and model.part_mask("mouth").sum() == 5
    assert model.part_mask("face").sum() == 30 - 4 - 5
    assert model.uv_faces.shape == model.faces.shape
    np.testing.assert_allclose(model.uvs.numpy(), np.c_[vt[:, 0], 1 - vt[:, 1]], atol=1e-6)  # glTF: v flipped
