"""FLAME loader on a FLAME-format pickle made in the test (no real FLAME file needed)."""

import os
import pickle
import sys

import numpy as np
import pytest

from flame_fixture import N_EXPR, N_SHAPE, synthetic_flame, write_flame_pickle
from stylemm.facemodel import FaceModel
from stylemm.facemodel.flame import convert_flame, load_flame
from stylemm.io.safe_pickle import UnsafePickleError


def _flame_arrays():
    a = synthetic_flame(np.random.default_rng(0))
    # The first 20 vertices get no jaw weight, so a jaw rotation must leave them alone.
    a["weights"][:20, 2] = 0
    a["weights"][:20] /= a["weights"][:20].sum(1, keepdims=True)
    return a


@pytest.fixture()
def flame_file(tmp_path):
    arrays = _flame_arrays()
    path = tmp_path / "generic_model.pkl"
    write_flame_pickle(path, arrays)
    return path, arrays


def _rot(r):
    angle = np.linalg.norm(r)
    if angle < 1e-12:
        return np.eye(3)
    k = np.array([[0, -r[2], r[1]], [r[2], 0, -r[0]], [-r[1], r[0], 0]]) / angle
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def numpy_flame(a, shape, expr, pose):
    """FLAME's forward pass written independently with numpy, from the pickle's own arrays."""
    dirs = a["shapedirs"]
    v_shaped = a["v_template"] + dirs[:, :, :N_SHAPE] @ shape
    joints = a["J_regressor"].toarray() @ v_shaped
    rots = [_rot(r) for r in pose]
    feature = np.concatenate([(R - np.eye(3)).ravel() for R in rots[1:]])
    v = v_shaped + dirs[:, :, N_SHAPE:] @ expr + a["posedirs"] @ feature
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
    arrays = load_flame(path)
    n = len(a["v_template"])
    assert "chumpy" not in sys.modules  # read without chumpy
    assert arrays.name == "flame" and arrays.expression_range is None
    assert arrays.template.shape == (n, 3) and arrays.shapedirs.shape == (N_SHAPE, n, 3)
    assert arrays.exprdirs.shape == (N_EXPR, n, 3) and arrays.posedirs.shape == (36, n, 3)
    assert arrays.expression_names[0] == "expression_000" and arrays.expression_names[-1] == "expression_099"
    assert arrays.joint_names == ["global", "neck", "jaw", "left_eye", "right_eye"]
    assert arrays.parents == [-1, 0, 1, 1, 1]
    np.testing.assert_allclose(arrays.joint_regressor, a["J_regressor"].toarray(), atol=1e-7)
    np.testing.assert_array_equal(arrays.faces, a["f"])
    assert arrays.uvs.shape == (0, 2) and arrays.uv_faces.shape == (0, 3)  # this file has no UVs
    # Default parts: the eyeballs are the vertices rigidly skinned to an eye (the last 8 here).
    labels = np.asarray(arrays.part_names)[arrays.part_labels]
    assert list(labels[-8:]) == ["left_eyeball"] * 4 + ["right_eyeball"] * 4 and set(labels[:-8]) == {"head"}


def test_zero_parameters_give_the_template(flame_file):
    path, a = flame_file
    model = FaceModel(load_flame(path))
    np.testing.assert_allclose(model()[0].numpy(), a["v_template"], atol=1e-6)


def test_shape_and_expression_are_template_plus_their_directions(flame_file):
    path, a = flame_file
    model = FaceModel(load_flame(path))
    rng = np.random.default_rng(1)
    shape, expr = rng.normal(size=N_SHAPE), rng.normal(size=N_EXPR)
    dirs = a["shapedirs"]
    expected = a["v_template"] + dirs[:, :, :N_SHAPE] @ shape + dirs[:, :, N_SHAPE:] @ expr
    np.testing.assert_allclose(model(shape=shape, expression=expr)[0].numpy(), expected, atol=1e-5)
    names = {f"expression_{i:03d}": v for i, v in enumerate(expr)}
    np.testing.assert_allclose(model(shape=shape, expression=names)[0].numpy(), expected, atol=1e-5)


def test_jaw_rotation_moves_only_jaw_weighted_vertices(flame_file):
    path, a = flame_file
    model = FaceModel(load_flame(path))
    pose = np.zeros((5, 3))
    pose[2] = [0.3, 0.05, 0.0]
    posed = model(pose={"jaw": pose[2]})[0].double().numpy()
    np.testing.assert_allclose(posed, numpy_flame(a, np.zeros(N_SHAPE), np.zeros(N_EXPR), pose), atol=1e-6)
    # Vertices without jaw weight get the pose correctives only; the rest also turn with the jaw.
    feature = np.concatenate([(_rot(r) - np.eye(3)).ravel() for r in pose[1:]])
    rest = a["v_template"] + a["posedirs"] @ feature
    unweighted = a["weights"][:, 2] == 0
    assert unweighted.sum() >= 20
    np.testing.assert_allclose(posed[unweighted], rest[unweighted], atol=1e-6)
    assert np.linalg.norm(posed[~unweighted] - rest[~unweighted], axis=1).max() > 1e-3


def test_forward_matches_an_independent_numpy_flame(flame_file):
    path, a = flame_file
    model = FaceModel(load_flame(path))
    rng = np.random.default_rng(2)
    shape, expr, pose = rng.normal(size=N_SHAPE), rng.normal(size=N_EXPR), rng.normal(size=(5, 3)) * 0.3
    ours = model(shape=shape, expression=expr, pose=pose[None])[0].double().numpy()
    np.testing.assert_allclose(ours, numpy_flame(a, shape, expr, pose), atol=2e-6)


def test_eye_joints_are_named_by_the_side_they_are_on(tmp_path):
    a = _flame_arrays()
    # A file whose joint 3 regresses from the eyeball at -X (the subject's right).
    regressor = a["J_regressor"].toarray()[[0, 1, 2, 4, 3]]
    a["J_regressor"] = type(a["J_regressor"])(regressor)
    a["weights"] = a["weights"][:, [0, 1, 2, 4, 3]]
    a["posedirs"][:] = 0  # so an eye rotation moves exactly what that eye skins
    path = tmp_path / "swapped.pkl"
    write_flame_pickle(path, a)
    model = FaceModel(load_flame(path))
    assert model.joint_names == ["global", "neck", "jaw", "right_eye", "left_eye"]
    left, right = slice(-8, -4), slice(-4, None)  # synthetic_flame's +X and -X eyeballs
    r = np.array([0.0, 0.4, 0.0])
    posed = model(pose={"left_eye": r})[0].double().numpy()
    centre = regressor[4] @ a["v_template"]  # joint 4 is at +X in this file
    np.testing.assert_allclose(posed[left], (a["v_template"][left] - centre) @ _rot(r).T + centre, atol=1e-6)
    np.testing.assert_allclose(posed[right], a["v_template"][right], atol=1e-7)
    np.testing.assert_array_equal(model.part_mask("left_eyeball").numpy()[left], True)
    assert model.part_mask("left_eyeball").sum() == 4


def test_npz_conversion_round_trips(flame_file, tmp_path):
    path, _ = flame_file
    npz = tmp_path / "out" / "flame.npz"
    convert_flame(path, npz)
    with np.load(npz, allow_pickle=False) as z:  # plain arrays: no pickle needed to read it
        assert "template" in z.files
    from_pkl, from_npz = load_flame(path), load_flame(npz)
    for key, value in vars(from_pkl).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(from_npz, key), value, err_msg=key)
            assert getattr(from_npz, key).dtype == value.dtype, key
        else:
            assert getattr(from_npz, key) == value, key
    assert from_npz.digest() == from_pkl.digest()
    assert sorted(p.name for p in npz.parent.iterdir()) == ["flame.npz"]  # no temp file left


def test_failed_conversion_leaves_nothing_behind(flame_file, tmp_path):
    path, _ = flame_file
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(path.read_bytes()[:2000])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValueError, match="not a readable FLAME model pickle"):
        convert_flame(truncated, out / "flame.npz")
    assert list(out.iterdir()) == []


def _write_plain(path, content):
    path.write_bytes(pickle.dumps(content, protocol=2))
    return path


def test_bad_files_get_clear_errors(flame_file, tmp_path):
    path, a = flame_file
    with pytest.raises(FileNotFoundError, match="flame.is.tue.mpg.de"):
        load_flame(tmp_path / "nope.pkl")
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="truncated.pkl is not a readable FLAME model pickle"):
        load_flame(truncated)
    broken_npz = tmp_path / "broken.npz"
    broken_npz.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ValueError, match="not a readable face-model .npz"):
        load_flame(broken_npz)
    with pytest.raises(ValueError, match="holds a list, not FLAME's dict"):
        load_flame(_write_plain(tmp_path / "list.pkl", [1, 2]))
    without_weights = {k: v for k, v in a.items() if k != "weights"}
    with pytest.raises(ValueError, match=r"lacks \['weights'\]"):
        load_flame(_write_plain(tmp_path / "keys.pkl", without_weights))
    with pytest.raises(ValueError, match="shapedirs has 350 columns; FLAME has 400"):
        load_flame(_write_plain(tmp_path / "cols.pkl", {**a, "shapedirs": a["shapedirs"][:, :, 50:]}))
    with pytest.raises(ValueError, match=r"posedirs has shape \(60, 3, 27\)"):
        load_flame(_write_plain(tmp_path / "pose.pkl", {**a, "posedirs": a["posedirs"][:, :, :27]}))
    with pytest.raises(ValueError, match="'quaternion' / 'lbs', not FLAME's lrotmin / lbs"):
        load_flame(_write_plain(tmp_path / "bs.pkl", {**a, "bs_type": "quaternion"}))
    with pytest.raises(ValueError, match=r"f must hold integers in \[0, 60\)"):
        load_flame(_write_plain(tmp_path / "faces.pkl", {**a, "f": a["f"].astype(np.int64) - 1}))


class _System:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_flame_file_carrying_code_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "generic_model.pkl"
    write_flame_pickle(path, {**_flame_arrays(), "evil": _System(marker)})
    with pytest.raises(UnsafePickleError, match=r"generic_model.pkl: refusing to load \w+\.system"):
        load_flame(path)
    assert not marker.exists()


def test_masks_and_texture_space_are_used_when_given(flame_file, tmp_path):
    path, a = flame_file
    n = len(a["v_template"])
    masks = _write_plain(tmp_path / "FLAME_masks.pkl", {"face": np.arange(0, 30), "nose": np.arange(10, 14),
                                                        "lips": np.arange(20, 25), "boundary": np.arange(3),
                                                        "left_eyeball": np.arange(n - 8, n - 4)})  # fmt: skip
    texture = tmp_path / "FLAME_texture.npz"
    vt = np.random.default_rng(2).uniform(size=(80, 2))
    ft = np.random.default_rng(3).integers(0, 80, size=a["f"].shape)
    np.savez(texture, vt=vt, ft=ft)
    model = FaceModel(load_flame(path, masks_path=masks, texture_space_path=texture))
    assert model.part_mask("nose").sum() == 4 and model.part_mask("mouth").sum() == 5
    assert model.part_mask("face").sum() == 30 - 4 - 5 and model.part_mask("left_eyeball").sum() == 4
    assert model.part_mask("scalp").sum() == n - 30 - 4  # in no region
    np.testing.assert_array_equal(model.uv_faces.numpy(), ft)
    np.testing.assert_allclose(model.uvs.numpy(), np.c_[vt[:, 0], 1 - vt[:, 1]], atol=1e-6)  # glTF: v flipped


def test_bad_side_files_get_clear_errors(flame_file, tmp_path):
    path, a = flame_file
    with pytest.raises(FileNotFoundError, match="FLAME_masks.pkl"):
        load_flame(path, masks_path=tmp_path / "missing_masks.pkl")
    with pytest.raises(FileNotFoundError, match="FLAME_texture.npz"):
        load_flame(path, texture_space_path=tmp_path / "missing_texture.npz")
    masks = _write_plain(tmp_path / "masks.pkl", {"face": np.arange(0, 100)})
    with pytest.raises(ValueError, match=r"masks.pkl does not fit this FLAME model \(60 vertices\)"):
        load_flame(path, masks_path=masks)
    texture = tmp_path / "texture.npz"
    np.savez(texture, vt=np.zeros((4, 2)), ft=np.zeros((3, 3), np.int64))
    with pytest.raises(ValueError, match=r"texture.npz is not a usable FLAME_texture.npz: ft has shape \(3, 3\)"):
        load_flame(path, texture_space_path=texture)
    npz = tmp_path / "flame.npz"
    convert_flame(path, npz)
    with pytest.raises(ValueError, match="pass masks/texture files to convert_flame"):
        load_flame(npz, masks_path=masks)
