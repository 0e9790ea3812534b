"""The recipe stylizer: every named style changes the head by a clear, style-appropriate amount,
identities stay diverse, expressions and the rig still act, renders are deterministic, and the
renderer's new shading keeps its default and passes gradients."""

import math

import pytest
import torch

from stylemm.render import MeshRenderer, orbit_camera
from stylemm.render.camera import Camera
from stylemm.render.shading import Shading
from stylemm.stylize.atoms import TextureEffects, atoms_of
from stylemm.stylize.faces import SourceFaces
from stylemm.stylize.recipe_stylizer import RecipeStylizer
from stylemm.stylize.recipes import UnknownStyle, get_recipe, list_styles

TEXTURE_SIZE = (32, 64)


@pytest.fixture(scope="module")
def sources(openhead):
    from stylemm.textures import SkinTextures

    g = torch.Generator().manual_seed(3)
    count = 3
    shape = torch.randn(count, openhead.shape_dim, generator=g)
    expression = torch.zeros(count, openhead.expression_dim)
    pose = {"neck": torch.tensor([[0.0, 0.2, 0.0], [0.1, 0.0, 0.0], [0.0, -0.3, 0.0]])}
    texture = SkinTextures(openhead, *TEXTURE_SIZE).sample(count, g)
    camera = orbit_camera(torch.tensor([0.0, 20.0, -30.0]), torch.zeros(3), distance=0.75, target=(0, 0.03, 0.02), width=48, height=48)
    vertices = openhead(shape=shape, expression=expression, pose=pose)
    images = MeshRenderer(openhead.faces, openhead.uvs, openhead.uv_faces)(vertices, camera, texture=texture).rgb
    return SourceFaces(shape, expression, pose, torch.zeros(count, 4), texture, camera, vertices, images)


# -- measures on neutral meshes and textures ---------------------------------------------------
def _part(model, mesh, *parts):
    return mesh[:, model.part_mask(*parts)]


def eye_size(model, mesh):
    """RMS radius of the eyeballs (they are spheres, so this is their radius)."""
    sizes = []
    for side in ("left_eyeball", "right_eyeball"):
        eye = _part(model, mesh, side)
        sizes.append((eye - eye.mean(1, keepdim=True)).norm(dim=-1).square().mean(1).sqrt())
    return sum(sizes) / 2


def _eye_level(model, mesh):
    return _part(model, mesh, "left_eyeball", "right_eyeball")[..., 1].mean(1)


def jaw_width(model, mesh):
    """x-extent of the face below the mouth (within 3-6 cm under the eyes' level... of the template)."""
    band = model.part_mask("face", "mouth") & (model.template[:, 1] < -0.035) & (model.template[:, 1] > -0.065)
    x = mesh[:, band, 0]
    return x.max(1).values - x.min(1).values


def ear_tip_height(model, mesh):
    """Top of the ears above the eyes."""
    return _part(model, mesh, "ears")[..., 1].max(1).values - _eye_level(model, mesh)


def brow_forward(model, mesh):
    """How far the brow band stands in front of the eyeballs."""
    band = model.part_mask("face", "eyes") & (model.template[:, 1] > 0.05) & (model.template[:, 1] < 0.07) \
        & (model.template[:, 0].abs() < 0.04)  # fmt: skip
    return mesh[:, band, 2].max(1).values - _part(model, mesh, "left_eyeball", "right_eyeball")[..., 2].mean(1)


def cranium_over_chin(model, mesh):
    """Height of the head above the eyes over the height of the face below them."""
    eyes = _eye_level(model, mesh)
    top = _part(model, mesh, "scalp")[..., 1].max(1).values
    chin = _part(model, mesh, "face", "mouth")[..., 1].min(1).values
    return (top - eyes) / (eyes - chin)


def nose_depth(model, mesh):
    nose = _part(model, mesh, "nose")
    return nose[..., 2].max(1).values - nose[..., 2].min(1).values


def nose_width(model, mesh):
    nose = _part(model, mesh, "nose")
    return nose[..., 0].max(1).values - nose[..., 0].min(1).values


def cheek_width(model, mesh):
    band = model.part_mask("face") & (model.template[:, 1].abs() < 0.02)
    return mesh[:, band, 0].abs().mean(1)


def face_length(model, mesh):
    face = _part(model, mesh, "face", "mouth", "scalp")
    return (face[..., 1].max(1).values - face[..., 1].min(1).values) / (face[..., 0].max(1).values - face[..., 0].min(1).values)


def _skin_rgb(effects, texture):
    mask = effects.plain_skin
    return (texture * mask).sum((2, 3)) / mask.sum()


def _hsv(rgb):
    r, g, b = rgb.unbind(-1)
    top, bottom = rgb.max(-1).values, rgb.min(-1).values
    span = (top - bottom).clamp(min=1e-6)
    hue = torch.where(top == r, ((g - b) / span) % 6, torch.where(top == g, (b - r) / span + 2, (r - g) / span + 4)) * 60
    return hue, span / top.clamp(min=1e-6), top


def skin_hue(effects, texture):
    return _hsv(_skin_rgb(effects, texture))[0]


def skin_saturation(effects, texture):
    return _hsv(_skin_rgb(effects, texture))[1]


def blue_over_red(effects, texture):
    rgb = _skin_rgb(effects, texture)
    return rgb[:, 2] / rgb[:, 0]


def skin_detail(effects, texture):
    """Std of the skin's luminance (fine detail, freckles, spots) over its mean."""
    luma = (texture * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(1)
    mask = effects.plain_skin > 0.99
    values = luma[:, mask]
    return values.std(1) / values.mean(1)


def cheek_redness(effects, texture):
    mask = effects.cheeks
    rgb = (texture * mask).sum((2, 3)) / mask.sum()
    return rgb[:, 0] / rgb[:, 1]


# style -> (measure, "geometry" | "texture", relation, amount): stylized vs source per identity,
# "ratio" compares stylized / source, "diff" stylized - source (metres or degrees).
MEASURES = {
    "disney": [(eye_size, "geometry", "ratio >", 1.3), (skin_detail, "texture", "ratio <", 0.8)],
    "pixar-child": [(eye_size, "geometry", "ratio >", 1.45), (cranium_over_chin, "geometry", "ratio >", 1.15)],
    "orc": [(skin_hue, "texture", "between", (70, 150)), (jaw_width, "geometry", "ratio >", 1.1)],
    "baby": [(cranium_over_chin, "geometry", "ratio >", 1.15), (nose_depth, "geometry", "ratio <", 0.85),
             (cheek_redness, "texture", "ratio >", 1.1)],  # fmt: skip
    "statue": [(skin_saturation, "texture", "between", (0.0, 0.15))],
    "neanderthal": [(brow_forward, "geometry", "diff >", 0.004), (jaw_width, "geometry", "ratio >", 1.07),
                    (nose_width, "geometry", "ratio >", 1.2)],  # fmt: skip
    "elf": [(ear_tip_height, "geometry", "diff >", 0.012), (face_length, "geometry", "ratio >", 1.03)],
    "zombie": [(blue_over_red, "texture", "between", (1.1, 10)), (cheek_width, "geometry", "ratio <", 0.99)],
    "bronze-bust": [(skin_hue, "texture", "between", (20, 45)), (skin_saturation, "texture", "between", (0.55, 1.0))],
    "goblin": [(skin_hue, "texture", "between", (70, 150)), (ear_tip_height, "geometry", "diff >", 0.006),
               (nose_depth, "geometry", "ratio >", 1.2)],  # fmt: skip
    "clay-toon": [(skin_detail, "texture", "between", (0.0, 0.025)), (skin_hue, "texture", "between", (10, 30))],
    "alien": [(cranium_over_chin, "geometry", "ratio >", 1.25), (eye_size, "geometry", "ratio >", 1.35),
              (blue_over_red, "texture", "between", (1.1, 10))],  # fmt: skip
}


def test_every_style_has_a_measure():
    assert set(MEASURES) == set(list_styles()) and len(list_styles()) == 12


@pytest.mark.parametrize("style", list_styles())
def test_style_changes_the_head_as_it_says(openhead, sources, style):
    stylizer = RecipeStylizer(openhead, get_recipe(style), variation=0.0)
    effects = TextureEffects.of(openhead, *TEXTURE_SIZE)
    strengths = {k: torch.full((len(sources),), v, dtype=torch.float64) for k, v in get_recipe(style).varied_atoms().items()}
    stylized_texture = effects.apply(sources.texture, stylizer._matrix(strengths, effects.names, len(sources)), torch.Generator().manual_seed(0))
    source_neutral = stylizer.neutral(sources.shape, strengths={})
    stylized_neutral = stylizer.neutral(sources.shape)
    for measure, kind, relation, amount in MEASURES[style]:
        before, after = (measure(openhead, source_neutral), measure(openhead, stylized_neutral)) if kind == "geometry" \
            else (measure(effects, sources.texture), measure(effects, stylized_texture))  # fmt: skip
        if relation == "between":
            ok = (after > amount[0]) & (after < amount[1])
        else:
            value = after / before if relation.startswith("ratio") else after - before
            ok = value > amount if relation.endswith(">") else value < amount
        assert bool(ok.all()), f"{style}: {measure.__name__} {relation} {amount}: source {before.tolist()}, stylized {after.tolist()}"


@pytest.mark.parametrize("style", ["pixar-child", "orc", "alien", "neanderthal", "elf", "goblin"])
def test_identity_diversity_survives(openhead, style):
    """Per-component std of 200 stylized neutral heads against their sources, in the source's PCA basis."""
    shapes = torch.randn(200, openhead.shape_dim, generator=torch.Generator().manual_seed(7))
    stylizer = RecipeStylizer(openhead, get_recipe(style), variation=0.0)
    source = stylizer.neutral(shapes, strengths={}).reshape(200, -1).double()
    stylized = stylizer.neutral(shapes).reshape(200, -1).double()
    source, stylized = source - source.mean(0), stylized - stylized.mean(0)
    _, spread, basis = torch.linalg.svd(source, full_matrices=False)
    component_std = (stylized @ basis[:10].T).std(0) / (source @ basis[:10].T).std(0)
    total = stylized.square().sum() / source.square().sum()
    assert 0.7 < float(total) < 1.6, f"{style}: total variance ratio {float(total):.2f}"
    assert bool(((component_std > 0.7) & (component_std < 1.5)).all()), f"{style}: top-10 component std ratios {component_std.tolist()}"


@pytest.mark.parametrize("style", ["pixar-child", "orc", "neanderthal", "alien"])
def test_expressions_and_the_rig_still_act(openhead, sources, style):
    """jawOpen moves the stylized chin as much as the source's (within 20 %); eyes stay round and
    centred on their joints, so eye rotations turn them in place."""
    stylizer = RecipeStylizer(openhead, get_recipe(style), variation=0.0)
    jaw_open = torch.zeros(len(sources), openhead.expression_dim)
    jaw_open[:, openhead.expression_names.index("jawOpen")] = 1.0
    still = torch.zeros_like(jaw_open)
    chin = openhead.lbs_weights[:, openhead.joint_names.index("jaw")] > 0.9
    for neutral_strengths in ({}, None):
        neutral = stylizer.neutral(sources.shape, strengths=neutral_strengths)
        motion = (stylizer.posed(neutral, jaw_open, {}) - stylizer.posed(neutral, still, {}))[:, chin].norm(dim=-1).mean(1)
        if neutral_strengths == {}:
            source_motion = motion
    assert torch.allclose(motion, source_motion, rtol=0.2), f"{style}: chin moves {motion.tolist()} vs source {source_motion.tolist()}"
    neutral = stylizer.neutral(sources.shape)
    joints = torch.einsum("jn,bnc->bjc", openhead.joint_regressor, neutral)
    for side, joint in (("left_eyeball", "left_eye"), ("right_eyeball", "right_eye")):
        eye = _part(openhead, neutral, side)
        radius = (eye - eye.mean(1, keepdim=True)).norm(dim=-1)
        assert float((radius.max(1).values / radius.min(1).values).max()) < 1.06, "the eyeball is no longer a sphere"
        offset = (joints[:, openhead.joint_names.index(joint)] - eye.mean(1)).norm(dim=-1)
        # The model's own regressor places the joints (as for any identity); around strongly
        # restyled sockets it lands up to ~3 mm off the eyeball centre (a 15 degree eye turn then
        # slides the eyeball < 1 mm), against ~0.5 mm on source identities.
        assert float(offset.max()) < 0.0035, f"{style}: eye joint {offset.tolist()} m from the eyeball centre"


@pytest.mark.parametrize("style", list_styles())
def test_no_triangle_turns_over(openhead, style):
    stylizer = RecipeStylizer(openhead, get_recipe(style), variation=0.0)
    shapes = torch.randn(4, openhead.shape_dim, generator=torch.Generator().manual_seed(1))
    normals = []
    for strengths in ({}, None):
        v = stylizer.neutral(shapes, strengths=strengths)[:, openhead.faces]
        normals.append(torch.nn.functional.normalize(torch.cross(v[:, :, 1] - v[:, :, 0], v[:, :, 2] - v[:, :, 0], dim=-1), dim=-1))
    turned = (normals[0] * normals[1]).sum(-1) < 0
    # MakeHuman's own pointed-ear target folds a few ear triangles at full weight: < 0.4 % in all.
    assert float(turned.float().mean()) < 0.004, f"{style}: {int(turned.sum())} of {turned.numel()} triangles turned over"


def test_same_seed_same_tensors_and_exact_recipe_at_zero_variation(openhead, sources):
    stylizer = RecipeStylizer(openhead, get_recipe("orc"), variation=0.3)
    a = stylizer.stylize(sources, torch.Generator().manual_seed(5))
    b = stylizer.stylize(sources, torch.Generator().manual_seed(5))
    for name in ("images", "vertices", "texture", "parts"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert a.strengths == b.strengths
    assert a.strengths[0] != a.strengths[1], "each image gets its own strengths"
    assert all(s.keys() == get_recipe("orc").strengths.keys() for s in a.strengths)
    exact = RecipeStylizer(openhead, get_recipe("orc"), variation=0.0).stylize(sources, torch.Generator().manual_seed(5))
    assert all(s == get_recipe("orc").strengths for s in exact.strengths)


def test_stylized_batch_is_aligned_with_its_source(openhead, sources):
    out = RecipeStylizer(openhead, get_recipe("statue")).stylize(sources, torch.Generator().manual_seed(0))
    # No geometry atom: the stylized mesh is the source mesh, bit for bit; only the look changes.
    assert torch.equal(out.vertices, sources.vertices)
    assert out.images.shape == sources.images.shape and not torch.allclose(out.images, sources.images)
    render = MeshRenderer(openhead.faces)(sources.vertices, sources.camera)
    assert torch.equal(out.parts >= 0, render.triangle >= 0)
    assert set(out.parts.unique().tolist()) <= set(range(-1, len(openhead.part_names)))
    assert {"face", "nose"} <= {openhead.part_names[p] for p in out.parts.unique().tolist() if p >= 0}
    posed = RecipeStylizer(openhead, get_recipe("orc")).stylize(sources, torch.Generator().manual_seed(0))
    assert posed.vertices.shape == sources.vertices.shape and float((posed.vertices - sources.vertices).abs().max()) > 0.005


def test_unknown_style_lists_the_known_ones():
    with pytest.raises(UnknownStyle, match="known styles: disney, pixar-child, orc"):
        get_recipe("klingon")


def test_recipes_name_only_known_atoms_and_shading_is_fixed(openhead):
    for style in list_styles():
        recipe = get_recipe(style)
        assert set(recipe.varied_atoms()) | set(atoms_of("shading")) >= set(recipe.strengths)
        assert Shading.from_dict(recipe.to_dict()["shading"]) == recipe.shading
    assert get_recipe("clay-toon").shading.toon > 0.5 and get_recipe("bronze-bust").shading.specular > 0.3


# -- the renderer's shading ---------------------------------------------------------------------------
def _tiny_scene(dtype=torch.float64):
    vertices = torch.tensor([[[-0.3, -0.3, 0.0], [0.3, -0.25, 0.05], [0.0, 0.3, -0.05], [0.35, 0.3, 0.1]]], dtype=dtype)
    faces = torch.tensor([[0, 1, 2], [1, 3, 2]])
    uvs = torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]], dtype=dtype)
    camera = Camera(eye=torch.tensor([0.2, 0.1, 2.0], dtype=dtype), target=torch.zeros(3, dtype=dtype), width=8, height=8, fov_y=30.0)
    texture = torch.rand(1, 3, 2, 2, dtype=dtype, generator=torch.Generator().manual_seed(0))
    return MeshRenderer(faces, uvs, faces), vertices, camera, texture


def test_default_shading_is_the_renderers_own_light():
    renderer, vertices, camera, texture = _tiny_scene(torch.float32)
    plain = renderer(vertices, camera, texture=texture).rgb
    assert torch.allclose(renderer(vertices, camera, texture=texture, shading=Shading()).rgb, plain, atol=1e-6)
    for preset in (Shading(toon=1.0), Shading(ambient=0.6), Shading(specular=0.4)):
        assert not torch.allclose(renderer(vertices, camera, texture=texture, shading=preset).rgb, plain, atol=1e-3)


@pytest.mark.parametrize("shading", [Shading(toon=1.0, ambient=0.5), Shading(specular=0.35, shininess=12.0),
                                     Shading(toon=0.5, specular=0.2)], ids=["toon", "glossy", "mixed"])  # fmt: skip
def test_gradients_flow_through_the_shading(shading):
    """Finite differences agree with autograd for the shading alone and through a tiny render."""
    g = torch.Generator().manual_seed(1)
    albedo = torch.rand(5, 3, dtype=torch.float64, generator=g, requires_grad=True)
    normals = torch.nn.functional.normalize(torch.randn(5, 3, dtype=torch.float64, generator=g) + torch.tensor([0, 0, 1.5]), dim=-1)
    normals.requires_grad_(True)
    light = torch.nn.functional.normalize(torch.tensor([0.2, 0.1, 1.0], dtype=torch.float64), dim=0)
    assert torch.autograd.gradcheck(lambda a, n: shading(a, n, light), (albedo, normals))

    renderer, vertices, camera, texture = _tiny_scene()
    vertices.requires_grad_(True)
    texture.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v, t: renderer(v, camera, texture=t, shading=shading).rgb, (vertices, texture), atol=1e-5)


def test_shading_rejects_nonsense():
    with pytest.raises(ValueError, match="ambient"):
        Shading(ambient=1.5)
    with pytest.raises(ValueError, match="unknown shading parameter"):
        Shading.from_dict({"gloss": 1.0})
    assert math.isclose(Shading().plus({"toon": 1.0}, 2.0).toon, 1.0)
