"""The fine-tuning loss terms (paper eq. 2-8, 11): hand-computed cases, finite differences,
and gradients that reach D and G through the renderer."""

import math

import pytest
import torch

from stylemm.finetune import losses

torch.set_num_threads(1)


def test_keypoint_loss_is_the_mean_distance_in_image_widths_over_found_landmarks():
    projected = torch.tensor([[[0.0, 0.0], [3.0, 4.0]], [[9.0, 9.0], [9.0, 9.0]]])
    detected = torch.tensor([[[0.0, 0.0], [0.0, 0.0]], [[float("nan")] * 2] * 2])  # sample 2: no face found
    assert losses.keypoint_loss(projected, detected, width=10.0).item() == pytest.approx((0 + 0.5) / 2)
    nothing = torch.full_like(detected, float("nan"))
    assert losses.keypoint_loss(projected.requires_grad_(), nothing, 10.0).item() == 0.0


def test_image_l2_and_segmentation_against_hand_computed_values():
    a, b = torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    b[0, :, 0, 0] = 1.0
    assert losses.image_l2(a, b).item() == pytest.approx(3 / 12)
    target = torch.tensor([[[0, 1], [2, 2]]])  # class per pixel
    rendered = torch.zeros(1, 3, 2, 2)
    rendered[0, 0] = 1.0  # says "class 0" everywhere
    # class 0: wrong on 3 of 4 pixels by 1 -> 0.75; class 2: misses 2 of 4 -> 0.5
    assert losses.segmentation_loss(rendered, target, [0, 2]).item() == pytest.approx(0.75 + 0.5)


def test_soft_class_masks_sum_to_one_and_background_is_one_minus_coverage():
    alpha = torch.rand(2, 1, 3, 3)
    parts = torch.rand(2, 4, 3, 3)
    parts = parts / parts.sum(1, keepdim=True) * alpha  # part masks times coverage sum to the coverage
    part_class = torch.tensor([1, 1, 2, 3])
    masks = losses.soft_class_masks(parts, alpha, part_class, classes=4)
    assert torch.allclose(masks.sum(1), torch.ones(2, 3, 3), atol=1e-6)
    assert torch.allclose(masks[:, 0], 1 - alpha[:, 0])
    assert torch.allclose(masks[:, 1], parts[:, 0] + parts[:, 1])
    assert torch.equal(masks[:, 3], parts[:, 3])


def test_tangent_component_removes_the_normal_part():
    d = torch.tensor([[[1.0, 2.0, 3.0]]])
    n = torch.tensor([[[0.0, 0.0, 1.0]]])
    assert torch.equal(losses.tangent_component(d, n), torch.tensor([[[1.0, 2.0, 0.0]]]))


def _sheet():
    """A flat 2 x 2 grid of vertices in the z = 0 plane (normals +z), two triangles."""
    vertices = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    faces = torch.tensor([[0, 1, 2], [1, 3, 2]])
    return vertices, faces


def test_cdl_is_zero_for_identical_displacements_and_grows_with_their_spread():
    vertices, faces = _sheet()
    identities = torch.stack([vertices + torch.tensor([0.0, 0, k]) for k in range(4)])  # same normals, different heads
    displacement = torch.randn(1, 4, 3)
    assert losses.consistent_displacement_loss(identities + displacement, identities, faces).item() == pytest.approx(0, abs=1e-12)
    spread = torch.randn(4, 4, 3)
    values = [losses.consistent_displacement_loss(identities + displacement + s * spread, identities, faces).item()
              for s in (0.01, 0.1, 1.0)]  # fmt: skip
    assert values[0] < values[1] < values[2]
    assert values[2] / values[1] == pytest.approx(100, rel=1e-4)  # a variance: quadratic in the spread


def test_cdl_hand_computed_and_blind_to_normal_displacements():
    vertices, faces = _sheet()
    identities = vertices.expand(2, 4, 3).clone()
    moved = identities.clone()
    moved[0, :, 0] += 0.3  # identity 0 moves +x, identity 1 -x: variance 0.3^2 per vertex
    moved[1, :, 0] -= 0.3
    moved[0, :, 2] += 5.0  # along the normal: ignored
    assert losses.consistent_displacement_loss(moved, identities, faces).item() == pytest.approx(0.09)


def test_corner_cosines_and_regularisation_hand_computed():
    vertices, faces = _sheet()
    cos = losses.corner_cosines(vertices[None], faces)
    assert torch.allclose(cos[0, 0], torch.tensor([0.0, math.sqrt(0.5), math.sqrt(0.5)]), atol=1e-6)
    shifted = vertices + torch.tensor([0.1, 0.2, 0.0])  # a translation: only the position term
    reg = losses.regularisation_loss(shifted[None], vertices[None], faces, (1.0, 50.0, 1000.0))
    assert reg.item() == pytest.approx(0.05)
    sheared = vertices.clone()
    sheared[3, 0] += 0.5  # changes one triangle's angles, not the normals (still flat)
    only_angles = losses.regularisation_loss(sheared[None], vertices[None], faces, (0.0, 0.0, 1.0)).item()
    expected = (losses.corner_cosines(sheared[None], faces) - cos).square().sum(-1).mean().item()
    assert only_angles == pytest.approx(expected) and only_angles > 0


def test_gan_losses_at_even_odds():
    zero = torch.zeros(3)
    assert losses.generator_gan_loss(zero).item() == pytest.approx(math.log(2))
    assert losses.discriminator_gan_loss(zero, zero).item() == pytest.approx(2 * math.log(2))


def test_gradchecks_of_the_geometric_terms():
    torch.manual_seed(0)
    vertices, faces = _sheet()
    pre = (vertices.double()[None] + 0.1 * torch.randn(3, 4, 3, dtype=torch.double))
    moved = (pre + 0.05 * torch.randn(3, 4, 3, dtype=torch.double)).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: losses.consistent_displacement_loss(v, pre, faces), (moved,))
    assert torch.autograd.gradcheck(lambda v: losses.regularisation_loss(v, pre, faces), (moved,))
    points = torch.rand(2, 5, 2, dtype=torch.double, requires_grad=True)
    detected = torch.rand(2, 5, 2, dtype=torch.double)
    assert torch.autograd.gradcheck(lambda p: losses.keypoint_loss(p, detected, 3.0), (points,))
    parts = torch.rand(1, 3, 2, 2, dtype=torch.double, requires_grad=True)
    alpha = torch.rand(1, 1, 2, 2, dtype=torch.double, requires_grad=True)
    target = torch.tensor([[[0, 1], [2, 1]]])
    seg = lambda p, a: losses.segmentation_loss(losses.soft_class_masks(p, a, torch.tensor([1, 2, 2]), 3), target, [0, 1, 2])  # noqa: E731
    assert torch.autograd.gradcheck(seg, (parts, alpha))


# -- through the renderer, with the shipped source networks ---------------------------------------
@pytest.fixture(scope="module")
def setting():
    from stylemm.facemodel import load
    from stylemm.finetune.perceptual import PerceptualTerms
    from stylemm.finetune.stages import StageLosses
    from stylemm.landmarks import load_embedding
    from stylemm.packs import load_pack
    from stylemm.render import MeshRenderer
    from stylemm.stylize.source import view_camera

    model, pack = load("openhead"), load_pack("realistic")
    renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces, model.part_labels, num_parts=len(model.part_names))
    stage_losses = StageLosses(model, pack.deformer, renderer, load_embedding(model), None, PerceptualTerms.build())
    g = torch.Generator().manual_seed(3)
    size = 48
    batch = {
        "shape": torch.randn(2, model.shape_dim, generator=g),
        "expression": torch.zeros(2, len(model.expression_names)),
        "pose": torch.zeros(2, len(model.joint_names), 3),
        "texture_z": torch.randn(2, pack.texture_generator.config.z_dim, generator=g),
        "camera": view_camera(torch.tensor([10.0, -20.0]), torch.tensor([5.0, 0.0]), size),
        "stylized": torch.rand(2, 3, size, size, generator=g),
        "mask": torch.randint(0, 6, (2, size, size), generator=g),
        "landmarks": torch.rand(2, 478, 2, generator=g) * size,
    }
    return model, pack, stage_losses, batch


def _grad_norms(term: torch.Tensor, *networks) -> list[float]:
    params = [list(n.parameters()) for n in networks]
    grads = torch.autograd.grad(term, [p for group in params for p in group], allow_unused=True, retain_graph=True)
    out, k = [], 0
    for group in params:
        out.append(sum(0.0 if g is None else g.norm().item() for g in grads[k : k + len(group)]))
        k += len(group)
    return out


def test_every_term_carries_gradient_to_what_it_moves(setting):
    import copy

    model, pack, stage_losses, batch = setting
    deformer = copy.deepcopy(pack.deformer).requires_grad_(True)
    with torch.no_grad():  # move D away from D_src so L_reg and L_CDL are not at their minimum
        for p in deformer.parameters():
            p.add_(1e-3 * torch.randn_like(p))
    generator = copy.deepcopy(pack.texture_generator).requires_grad_(True)
    warm = stage_losses.warmup(deformer, batch)
    for name in ("kp", "reg", "cdl"):
        assert _grad_norms(warm[name], deformer)[0] > 0, name
    joint = stage_losses.joint(deformer, generator, batch, iteration=0)
    d_recon, g_recon = _grad_norms(joint["recon"], deformer, generator)
    assert d_recon > 0 and g_recon > 0
    d_seg, g_seg = _grad_norms(joint["seg"], deformer, generator)
    assert d_seg > 0 and g_seg == 0  # masks are geometry: the soft part masks reach D
    from stylemm.finetune.stages import ImageDiscriminator

    rendered = stage_losses.texture_render(deformer, generator, batch)
    tex = stage_losses.texture(rendered, ImageDiscriminator(48), batch)
    for name in ("lpips", "gan"):
        d, g = _grad_norms(tex[name], deformer, generator)
        assert g > 0 and d == 0, name


def test_segmentation_gradient_matches_finite_differences_through_the_renderer(setting):
    """d L_seg / d t for the mesh slid sideways by t, against masks of the mesh slid 1 cm:
    autograd against central differences, for the part classes inside the head (eye, nose).
    (Background and ear ride on the renderer's silhouette antialiasing, whose coverage is
    not everywhere continuous: its central differences do not converge as h shrinks.)"""
    model, pack, stage_losses, batch = setting
    from stylemm.stylize.masks import CLASSES

    with torch.no_grad():
        vertices = stage_losses.geometry(pack.deformer, batch).posed
    direction, texture = torch.tensor([1.0, 0.3, 0.0]), torch.full((1, 3, 8, 16), 0.5)

    def masks(t):
        out = stage_losses.render(vertices + t * direction, texture, batch["camera"])
        return stage_losses.class_masks(out, vertices + t * direction, batch["camera"])

    target = masks(torch.tensor(0.01)).argmax(1)
    for name in ("eye", "nose"):
        seg = lambda t: losses.segmentation_loss(masks(t), target, [CLASSES.index(name)])  # noqa: E731
        t = torch.zeros((), requires_grad=True)
        (analytic,) = torch.autograd.grad(seg(t), t)
        h = 1e-3
        numeric = (seg(torch.tensor(h)) - seg(torch.tensor(-h))) / (2 * h)
        assert analytic.abs() > 0.1, name
        assert analytic.item() == pytest.approx(numeric.item(), rel=0.1), name
