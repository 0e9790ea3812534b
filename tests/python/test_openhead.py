"""OpenHead: determinism, sizes, names, and that its parts move the way a head does."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components

from stylemm.facemodel.lbs import rodrigues

# Apple's ARKit blendshape locations, written out independently of the build.
ARKIT = """browDownLeft browDownRight browInnerUp browOuterUpLeft browOuterUpRight cheekPuff
cheekSquintLeft cheekSquintRight eyeBlinkLeft eyeBlinkRight eyeLookDownLeft eyeLookDownRight
eyeLookInLeft eyeLookInRight eyeLookOutLeft eyeLookOutRight eyeLookUpLeft eyeLookUpRight
eyeSquintLeft eyeSquintRight eyeWideLeft eyeWideRight jawForward jawLeft jawOpen jawRight
mouthClose mouthDimpleLeft mouthDimpleRight mouthFrownLeft mouthFrownRight mouthFunnel mouthLeft
mouthLowerDownLeft mouthLowerDownRight mouthPressLeft mouthPressRight mouthPucker mouthRight
mouthRollLower mouthRollUpper mouthShrugLower mouthShrugUpper mouthSmileLeft mouthSmileRight
mouthStretchLeft mouthStretchRight mouthUpperUpLeft mouthUpperUpRight noseSneerLeft noseSneerRight
tongueOut""".split()

MOVED = 1e-4  # metres


def test_build_is_deterministic_and_cache_round_trips(openhead, openhead_cache):
    from stylemm.facemodel.model import FaceModelArrays
    from stylemm.facemodel.openhead import build, cache_path
    from stylemm.facemodel.openhead.assets import MakeHumanData

    first, second = build(MakeHumanData()), build(MakeHumanData())
    assert first.digest() == second.digest()
    cached = cache_path(MakeHumanData())
    assert cached.is_file() and str(cached).startswith(str(openhead_cache))
    assert FaceModelArrays.load_npz(cached).digest() == first.digest()


def test_sizes_and_names(openhead):
    m = openhead
    assert 4300 <= m.num_vertices <= 5000
    assert m.shape_dim == 100
    assert m.expression_names == sorted(ARKIT) and m.expression_dim == 52
    assert m.joint_names == ["global", "neck", "jaw", "left_eye", "right_eye"]
    assert m.expression_range == (0.0, 1.0)
    faces = m.faces.numpy()
    assert faces.min() == 0 and faces.max() == m.num_vertices - 1
    assert len(np.unique(faces)) == m.num_vertices  # no loose vertices
    for part in ["face", "eyes", "nose", "mouth", "ears", "scalp", "neck", "left_eyeball", "right_eyeball", "teeth", "tongue"]:
        assert m.part_mask(part).sum() > 20, part
    assert m.metadata["explained_variance"]["100"] > 0.99


def test_zero_parameters_give_the_template(openhead):
    assert torch.allclose(openhead()[0], openhead.template, atol=1e-6)  # float rounding in LBS only
    zeros = openhead(shape=torch.zeros(2, 100), expression=torch.zeros(2, 52), pose={"jaw": torch.zeros(2, 3)})
    assert torch.allclose(zeros, openhead.template.expand(2, -1, -1), atol=1e-6)


def test_expression_units_move_only_plausible_regions(openhead):
    m = openhead
    x = m.template[:, 0]
    for i, name in enumerate(m.expression_names):
        motion = m.exprdirs[i].norm(dim=1)
        assert motion.max() > 1e-3, f"{name} does nothing"
        assert motion[m.part_mask("scalp", "neck")].max() < 0.005, f"{name} moves the skull or neck"
        centre = (motion * x).sum() / motion.sum()  # +X is the subject's left
        side = 1 if name.endswith("Left") else -1 if name.endswith("Right") else 0
        if side and name in ("jawLeft", "jawRight", "mouthLeft", "mouthRight"):
            # These shift the jaw or mouth sideways, towards the subject's left or right.
            assert side * m.exprdirs[i, :, 0].mean() > 0, name
        elif side:
            assert side * centre > 0.005, f"{name} acts on the wrong side"
    jaw = m(expression={"jawOpen": 1.0})[0] - m.template
    chin = m.part_mask("face", "mouth") & (m.template[:, 1] < m.template[m.part_mask("mouth"), 1].min() + 0.01)
    assert jaw[chin, 1].mean() < -0.01  # the chin drops by more than a centimetre
    assert jaw[m.part_mask("eyes", "ears", "scalp")].norm(dim=1).max() < 0.006


def test_random_identities_have_human_head_sizes(openhead):
    m = openhead
    heads = m(shape=torch.randn(300, 100, generator=torch.Generator().manual_seed(1)))
    skull = m.part_mask("scalp", "face", "eyes", "nose", "mouth")
    extent = heads[:, skull].amax(1) - heads[:, skull].amin(1)
    breadth, height, depth = extent.unbind(-1)
    # Adult anthropometry (cm): head breadth 13-17, vertex-chin 20-26, nose-to-back 18-23.
    assert 0.12 < breadth.min() and breadth.max() < 0.18
    assert 0.17 < height.min() and height.max() < 0.27
    assert 0.17 < depth.min() and depth.max() < 0.25
    assert breadth.std() > 0.002  # identities actually differ


def test_jaw_rotation_moves_only_jaw_weighted_vertices(openhead):
    m = openhead
    rotation = torch.tensor([0.3, 0.0, 0.0])
    posed, joints = m.evaluate(pose={"jaw": rotation})
    delta = (posed[0] - m.template).norm(dim=1)
    jaw_weight = m.lbs_weights[:, m.joint_names.index("jaw")]
    assert delta[jaw_weight == 0].max() < 1e-6
    assert delta[jaw_weight > 0.5].min() > 1e-4
    rigid = jaw_weight == 1
    pivot = joints[0, m.joint_names.index("jaw")]
    expected = (m.template[rigid] - pivot) @ rodrigues(rotation).T + pivot
    assert torch.allclose(posed[0, rigid], expected, atol=1e-6)


def test_joints_follow_identity_like_the_rig(openhead):
    """The regressed joints match the MakeHuman rig's joint cubes on unseen identities."""
    from stylemm.facemodel.openhead import identity, rig
    from stylemm.facemodel.openhead.assets import MakeHumanData
    from stylemm.facemodel.openhead.crop import crop_head

    data = MakeHumanData()
    crop = crop_head(data.base_mesh)
    cubes = [data.vertex_groups[name] for name in rig.JOINT_CUBES]
    watched = np.concatenate([crop.source_vertices, *cubes])
    local_names, local = identity.local_targets(data, watched)
    macro_names, macro = identity.macro_targets(data, watched)
    weights = identity.sample_weights(np.random.default_rng(12345), local_names, macro_names, 50)
    samples = data.base_mesh.vertices[watched] + np.einsum("st,tvc->svc", weights, np.concatenate([local, macro]))
    n = len(crop.source_vertices)
    predicted = np.einsum("jn,snc->sjc", openhead.joint_regressor.numpy().astype(np.float64), samples[:, :n])
    start = np.cumsum([n] + [len(c) for c in cubes])
    truth = np.stack([samples[:, a:b].mean(1) for a, b in zip(start[:-1], start[1:])], axis=1)
    error_mm = np.linalg.norm(predicted - truth, axis=-1) * 100  # decimetres -> mm
    assert error_mm.max() < 1.0, error_mm.max(axis=0)
    assert (truth[:, rig.JOINT_NAMES.index("left_eye"), 0] > 0).all()  # subject's left is +X


def test_eye_rotation_turns_the_eyeball_rigidly(openhead):
    m = openhead
    posed, joints = m.evaluate(pose={"left_eye": [0.0, 0.3, 0.0]})
    ball = m.part_mask("left_eyeball")
    centre = joints[0, m.joint_names.index("left_eye")]
    before = (m.template[ball] - centre).norm(dim=1)
    after = (posed[0, ball] - centre).norm(dim=1)
    assert torch.allclose(before, after, atol=1e-6)
    assert (posed[0, ~ball] - m.template[~ball]).abs().max() < 1e-6


def test_uv_islands_lie_inside_the_texture_and_do_not_overlap(openhead):
    uvs, uv_faces = openhead.uvs.numpy(), openhead.uv_faces.numpy()
    assert uvs.min() >= 0 and uvs.max() <= 1
    a, b, c = uv_faces.T
    n = len(uvs)
    graph = sp.coo_matrix((np.ones(3 * len(a)), (np.r_[a, b, c], np.r_[b, c, a])), shape=(n, n))
    count, island = connected_components(graph, directed=False)
    boxes = [(uvs[island == i].min(0), uvs[island == i].max(0)) for i in range(count)]
    for i in range(count):
        for j in range(i + 1, count):
            (lo1, hi1), (lo2, hi2) = boxes[i], boxes[j]
            assert (hi1 < lo2).any() or (hi2 < lo1).any(), f"UV islands {i} and {j} overlap"
    head = np.argmax(np.bincount(island))
    assert np.ptp(uvs[island == head], axis=0).min() > 0.6  # the head island gets most of the texture


def test_head_surface_is_consistently_wound_outwards(openhead):
    import trimesh

    inner = openhead.part_mask("left_eyeball", "right_eyeball", "teeth", "tongue").numpy()
    faces = openhead.faces.numpy()
    head = trimesh.Trimesh(openhead.template.numpy(), faces[~inner[faces].any(1)], process=True)
    assert head.is_winding_consistent
    # Counter-clockwise outwards gives a positive signed volume; litres of a head and neck.
    assert 0.002 < head.volume < 0.006


def test_parameters_are_validated_with_useful_messages(openhead):
    m = openhead
    with pytest.raises(ValueError, match=r"shape must have shape \(B, 100\)"):
        m(shape=torch.zeros(1, 99))
    with pytest.raises(ValueError, match="unknown expression name.*jawOpn"):
        m(expression={"jawOpn": 1.0})
    with pytest.raises(ValueError, match="NaN or Inf"):
        m(pose={"jaw": [float("nan"), 0, 0]})
    with pytest.raises(ValueError, match="unknown joint"):
        m(pose={"spine": [0, 0, 0]})
    with pytest.raises(ValueError, match="batch size"):
        m(shape=torch.zeros(2, 100), expression=torch.zeros(3, 52))
    with pytest.raises(ValueError, match="expression must have shape"):
        m(expression=torch.zeros(2, 100))


def test_batch_equals_loop_and_gradients_reach_every_parameter(openhead):
    m = openhead
    g = torch.Generator().manual_seed(3)
    shape = torch.randn(3, 100, generator=g, requires_grad=True)
    expression = torch.rand(3, 52, generator=g, requires_grad=True)
    jaw = (0.2 * torch.randn(3, 3, generator=g)).requires_grad_()
    batch = m(shape=shape, expression=expression, pose={"jaw": jaw})
    for i in range(3):
        single = m(shape=shape[i], expression=expression[i], pose={"jaw": jaw[i]})
        assert torch.allclose(batch[i], single[0], atol=1e-6)
    batch.square().sum().backward()
    for t in (shape, expression, jaw):
        assert torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def test_a_damaged_cache_is_rebuilt(openhead, openhead_cache):
    from stylemm.facemodel.openhead import cache_path, load_arrays
    from stylemm.facemodel.openhead.assets import MakeHumanData

    path = cache_path(MakeHumanData())
    expected = load_arrays().digest()
    path.write_bytes(path.read_bytes()[:1000])  # truncated, as after a crash mid-copy
    with pytest.warns(UserWarning, match="rebuilding OpenHead"):
        assert load_arrays().digest() == expected
    assert load_arrays().digest() == expected  # and the cache was repaired
