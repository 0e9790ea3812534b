"""Bundle v1: written atomically by stylemm_export, read and checked by stylemm_runtime,
which animates it like the torch networks do, without importing torch."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

import stylemm_runtime
from small_models import LinearDeformer
from stylemm.facemodel.lbs import joint_transforms, rodrigues, skin
from stylemm.nets.texture_generator import TextureGeneratorConfig, TextureGenerator
from stylemm_export.bundle import write_bundle
from stylemm_runtime.bundle import BundleError


def _torch_mesh(openhead, deformer, shape, expression, pose):
    """What the training side computes: D, then LBS about joints regressed from D's neutral."""
    with torch.no_grad():
        shape = torch.as_tensor(shape)[None]
        vertices = deformer(shape, torch.as_tensor(expression)[None])
        rest_joints = openhead.joint_regressor @ deformer(shape, torch.zeros(1, openhead.expression_dim))[0]
        _, transforms = joint_transforms(rest_joints[None].double(), openhead.parents, rodrigues(torch.as_tensor(pose)[None].double()))
        return skin(vertices.double(), openhead.lbs_weights.double(), transforms)[0].numpy()


def test_runtime_mesh_and_texture_match_the_torch_networks(openhead, networks, bundle_path):
    deformer, generator = networks
    model = stylemm_runtime.load(bundle_path)
    character = model.character(seed=3)
    expression = {"jawOpen": 0.7, "eyeBlinkLeft": 1.0, "mouthSmileRight": 0.4}
    pose = {"jaw": [0.25, 0.0, 0.0], "neck": [0.1, 0.3, 0.0], "left_eye": [0.0, 0.2, 0.0]}
    vertices = character.mesh(expression=expression, pose=pose)
    weights = model.expression_vector(expression)
    axis_angle = np.zeros((len(model.joint_names), 3), np.float32)
    for name, value in pose.items():
        axis_angle[model.joint_names.index(name)] = value
    expected = _torch_mesh(openhead, deformer, character.shape, weights, axis_angle)
    assert vertices.shape == (openhead.num_vertices, 3) and vertices.dtype == np.float32
    assert np.abs(vertices - expected).max() <= 0.05e-3  # 0.05 mm
    with torch.no_grad():
        texture = generator.texture(torch.as_tensor(character.texture_z)[None], noise="const")[0]
    expected_texture = (texture.permute(1, 2, 0).numpy() * 255).round()
    assert character.texture().shape == (16, 32, 3)
    assert np.abs(character.texture().astype(float) - expected_texture).max() <= 1


def test_the_manifest_describes_the_model(openhead, bundle_path):
    model = stylemm_runtime.load(bundle_path)
    manifest = model.bundle.manifest
    assert manifest["format_version"] == 1 and manifest["style"] == "test" and manifest["prompt"] == "a test"
    assert manifest["mesh"]["vertices"] == openhead.num_vertices
    assert model.expression_names == openhead.expression_names and model.joint_names == openhead.joint_names
    np.testing.assert_array_equal(model.faces, openhead.faces.numpy())
    assert model.providers == ["CPUExecutionProvider"]


def test_crowds_evaluate_in_one_call(openhead, networks, bundle_path):
    model = stylemm_runtime.load(bundle_path)
    shapes, expressions = np.random.default_rng(0).normal(size=(4, model.shape_dim)), np.zeros((4, openhead.expression_dim))
    meshes = model.deform(shapes, expressions)
    assert meshes.shape == (4, openhead.num_vertices, 3)
    np.testing.assert_allclose(meshes[2], model.character(shape=shapes[2]).mesh(), atol=1e-6)


def native_deformer(bundle, shapes, expressions) -> np.ndarray:
    """The deformer evaluated in float64 numpy exactly as docs/bundle-format.md ("Deformer
    weights") describes it, from the bundle's deformer.* arrays and networks.deformer.native:
    the oracle a native core is written against. (B, N, 3) for shapes (B, K), expressions (B, E)."""
    native = bundle.manifest["networks"]["deformer"]["native"]
    assert native["activation"] == "silu"

    def a(name):
        return bundle.array(f"deformer.{name}").astype(np.float64)

    def silu(x):
        return x / (1 + np.exp(-x))

    def mlp(x, prefix):
        return silu(x @ a(f"{prefix}.hidden.weight").T + a(f"{prefix}.hidden.bias")) @ a(f"{prefix}.out.weight").T + a(f"{prefix}.out.bias")

    dims = [3] + [native["hidden"]] * native["layers"] + [3]
    layers = list(zip(dims[:-1], dims[1:]))
    template, centre, scale = a("template"), a("centre"), a("scale")
    meshes = []
    for shape, expression in zip(np.asarray(shapes, np.float64), np.asarray(expressions, np.float64)):
        code = np.concatenate([mlp(shape, "shape_encoder"), mlp(expression, "expression_encoder")])
        params = mlp(code, "hyper")
        assert params.shape == (sum(i * o + o for i, o in layers),)
        h, offset = (template - centre) / scale, 0
        for k, (fan_in, fan_out) in enumerate(layers):
            weight = params[offset : offset + fan_out * fan_in].reshape(fan_out, fan_in)
            offset += fan_out * fan_in
            bias = params[offset : offset + fan_out]
            offset += fan_out
            h = h @ weight.T + bias
            if k < len(layers) - 1:
                h = np.sin(native["w0"] * h)
        meshes.append(template + h * scale)
    return np.stack(meshes)


def test_the_deformer_weights_evaluate_natively_as_documented(openhead, networks, bundle_path):
    """The deformer.* arrays and the documented computation give what deformer.onnx gives."""
    deformer, _ = networks
    model = stylemm_runtime.load(bundle_path)
    manifest = model.bundle.manifest
    config = deformer.config
    assert manifest["networks"]["deformer"]["native"] == {
        "hidden": config.hidden, "layers": config.layers, "w0": config.w0, "shape_code": config.shape_code,
        "expression_code": config.expression_code, "hyper_hidden": config.hyper_hidden, "activation": "silu"}  # fmt: skip
    hyper = manifest["arrays"]["deformer.hyper.hidden.weight"]
    assert hyper == {"file": "deformer.hyper.hidden.weight.bin", "dtype": "float32",
                     "shape": [config.hyper_hidden, config.shape_code + config.expression_code]}  # fmt: skip
    assert model.bundle.array("deformer.scale").shape == (1,) and model.bundle.array("deformer.centre").shape == (3,)
    rng = np.random.default_rng(1)
    shapes = rng.normal(size=(4, model.shape_dim)).astype(np.float32)
    expressions = rng.uniform(0, 1, size=(4, openhead.expression_dim)).astype(np.float32)
    expressions[0] = 0  # the neutral face
    native = native_deformer(model.bundle, shapes, expressions)
    exact = model.deform(shapes, expressions)
    assert np.abs(exact - native).max() <= 1e-5  # metres
    assert np.abs(exact - native[:1]).max() > 1e-3  # the pairs differ: the comparison is not trivial


def test_the_schema_ties_the_native_description_to_its_arrays(bundle_path):
    import copy

    import jsonschema

    from stylemm_export.bundle import validate_manifest

    manifest = stylemm_runtime.load(bundle_path).bundle.manifest
    validate_manifest(manifest)
    missing = copy.deepcopy(manifest)
    del missing["arrays"]["deformer.hyper.out.bias"]
    with pytest.raises(jsonschema.ValidationError, match="deformer.hyper.out.bias"):
        validate_manifest(missing)
    other = copy.deepcopy(manifest)
    other["networks"]["deformer"]["native"]["activation"] = "relu"
    with pytest.raises(jsonschema.ValidationError):
        validate_manifest(other)
    integer = copy.deepcopy(manifest)
    integer["arrays"]["deformer.template"]["dtype"] = "int32"
    with pytest.raises(jsonschema.ValidationError):
        validate_manifest(integer)
    without = copy.deepcopy(manifest)  # a bundle without the optional weights is still a v1 bundle
    del without["networks"]["deformer"]["native"]
    for name in [n for n in without["arrays"] if n.startswith("deformer.")]:
        del without["arrays"][name]
    validate_manifest(without)


def test_a_directory_bundle_is_refused_over_an_existing_one_unless_asked(openhead, networks, tmp_path):
    out = write_bundle(tmp_path / "dir", openhead, *networks, style="one")
    with pytest.raises(FileExistsError, match="--force"):
        write_bundle(out, openhead, *networks, style="two")
    write_bundle(out, openhead, *networks, style="two", overwrite=True)
    assert stylemm_runtime.load(out).style == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]  # no staging or old copies left


# (damage, what the error says); the native reader reads no ONNX, so it passes a network
# that is well hashed but not loadable (message None: the bundle must load).
DAMAGES = [
    (lambda d: (d / "deformer.onnx").write_bytes((d / "deformer.onnx").read_bytes()[:1000]), "does not match its sha256"),
    (lambda d: (d / "faces.bin").unlink(), "'faces.bin', which is missing"),
    (lambda d: (d / "extra.txt").write_text("hi") and None, None),  # unlisted files in a directory are ignored
    (lambda d: _edit_manifest(d, format_version=2), "newer than this runtime reads"),
    (lambda d: _edit_manifest(d, format="zip"), "does not describe a stylemm-bundle"),
    (lambda d: (d / "manifest.json").write_text("{"), "not valid JSON"),
    (lambda d: _truncate_and_rehash(d, "texture_generator.onnx"), "not a loadable ONNX model"),
    (lambda d: _edit_manifest(d, joints={"names": ["global"], "parents": [-1]}), r"array 'skin_weights' is float32 \(4784, 5\), expected float32 \(4784, 1\)"),
]  # fmt: skip
NATIVE_MESSAGES = ["does not match its sha256", "'faces.bin', which is missing", None, "newer than this library reads",
                   "does not describe a stylemm-bundle", "not valid JSON", None, "array 'skin_weights' is float32"]  # fmt: skip


@pytest.mark.parametrize("damage, message", DAMAGES)
def test_damaged_bundles_get_errors_that_name_the_problem(bundle_path, tmp_path, damage, message):
    folder = _copy_as_directory(bundle_path, tmp_path / "b")
    damage(folder)
    if message is None:
        stylemm_runtime.load(folder)
        return
    with pytest.raises(BundleError, match=message):
        stylemm_runtime.load(folder)


@pytest.mark.parametrize("damage, message", [(d, m) for (d, _), m in zip(DAMAGES, NATIVE_MESSAGES)])
def test_the_native_reader_refuses_the_same_damaged_bundles(bundle_path, tmp_path, damage, message):
    folder = _copy_as_directory(bundle_path, tmp_path / "b")
    damage(folder)
    if message is None:
        stylemm_runtime.native().Model(folder)
        return
    with pytest.raises(BundleError, match=message):
        stylemm_runtime.native().Model(folder)


def _copy_as_directory(bundle_path, folder):
    with zipfile.ZipFile(bundle_path) as archive:
        archive.extractall(folder)
    return folder


def _edit_manifest(folder, **changes):
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(changes)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _truncate_and_rehash(folder, name):
    """A truncated network whose manifest entry was updated too: ONNX Runtime must refuse it."""
    import hashlib

    data = (folder / name).read_bytes()[:2000]
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_bad_parameters_are_named(bundle_path):
    model = stylemm_runtime.load(bundle_path)
    character = model.character()
    with pytest.raises(ValueError, match=r"unknown expression name\(s\) \['smile'\]"):
        character.mesh(expression={"smile": 1.0})
    with pytest.raises(ValueError, match=r"expression must have shape \(52\)"):
        character.mesh(expression=np.zeros(3))
    with pytest.raises(ValueError, match="unknown joint"):
        character.mesh(pose={"tail": [0, 0, 0]})
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.character(shape=np.full(model.shape_dim, np.nan))
    with pytest.raises(BundleError, match="no bundle at"):
        stylemm_runtime.load(bundle_path.with_name("missing.smm"))


def test_the_runtime_animates_a_bundle_without_importing_torch(bundle_path):
    script = (
        "import sys, stylemm_runtime\n"
        f"m = stylemm_runtime.load({str(bundle_path)!r})\n"
        "c = m.character(seed=1)\n"
        "v = c.mesh(expression={'jawOpen': 1.0}, pose={'jaw': [0.2, 0, 0]}); t = c.texture()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print(v.shape, t.shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "(4784, 3) (16, 32, 3)" in result.stdout


def test_bundle_info_and_verify_commands(bundle_path, tmp_path, capsys):
    from stylemm_export.bundle_cli import main

    assert main(["info", str(bundle_path)]) == 0
    assert "style 'test' of openhead" in capsys.readouterr().out
    assert main(["verify", str(bundle_path)]) == 0
    assert ": OK (" in capsys.readouterr().out
    damaged = tmp_path / "damaged.smm"
    damaged.write_bytes(bundle_path.read_bytes()[:-100])
    assert main(["verify", str(damaged)]) == 2
    assert "stylemm-bundle: error:" in capsys.readouterr().err


def test_fitted_bakes_beat_unit_bakes_and_the_baked_backend_uses_them(bundle_path):
    from stylemm_runtime import baking

    model = stylemm_runtime.load(bundle_path)
    character = model.character(seed=5)
    # Least squares is optimal on the combinations it was fitted to (same seed and count).
    on_fit = dict(count=256, seed=0)
    unit = baking.measure(model, character.shape, baking.bake(model, character.shape, method="unit"), **on_fit)
    fitted = baking.measure(model, character.shape, baking.bake(model, character.shape, method="fitted"), **on_fit)
    assert fitted["rms_mm"] < unit["rms_mm"]
    baked = model.character(seed=5, backend="baked")
    assert baked.backend == "baked" and baked.bake_error["samples"] == 200
    # A unit weight is one of the fitted poses: baked and exact agree closely there.
    expression = {"jawOpen": 1.0}
    assert np.abs(baked.mesh(expression) - character.mesh(expression)).max() < 2e-3
    with pytest.raises(ValueError, match="backend must be one of"):
        model.character(backend="fast")


def test_unit_bakes_are_exact_for_single_units_of_a_linear_deformer(openhead, tmp_path):
    """With a linear network (the source model itself), baking must be exact."""
    from stylemm_runtime import baking

    generator = TextureGenerator(TextureGeneratorConfig(height=8, z_dim=4, w_dim=4, mapping_layers=1, channel_base=8, channel_max=2))
    model = stylemm_runtime.load(write_bundle(tmp_path / "linear.smm", openhead, LinearDeformer(openhead), generator, style="linear"))
    assert "native" not in model.bundle.manifest["networks"]["deformer"]  # not a Deformer: no weights to describe
    assert not [name for name in model.bundle.manifest["arrays"] if name.startswith("deformer.")]
    shape = np.random.default_rng(0).normal(size=model.shape_dim).astype(np.float32)
    for method in baking.METHODS:
        error = baking.measure(model, shape, baking.bake(model, shape, method=method))
        assert error["max_mm"] < 1e-3, method


def test_a_character_glb_passes_the_khronos_validator_and_reimports(bundle_path, tmp_path, khronos_validator):
    import pygltflib
    import trimesh

    from stylemm_export.gltf import write_character_glb
    from stylemm_runtime import baking

    model = stylemm_runtime.load(bundle_path)
    character = model.character(seed=2)
    morphs = baking.bake(model, character.shape)
    path = tmp_path / "character.glb"
    write_character_glb(path, model, character, morphs)
    report = khronos_validator(path)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:5]
    gltf = pygltflib.GLTF2().load(str(path))
    assert gltf.meshes[0].extras["targetNames"] == model.expression_names
    assert len(gltf.meshes[0].primitives[0].targets) == len(model.expression_names)
    assert [gltf.nodes[j].name for j in gltf.skins[0].joints] == model.joint_names
    mesh = trimesh.load(path, force="mesh")
    assert len(mesh.faces) == len(model.faces)
    # Split at UV seams, the vertices are still the neutral mesh's, every one of them.
    from scipy.spatial import cKDTree

    distance, nearest = cKDTree(morphs.neutral).query(mesh.vertices)
    assert distance.max() < 1e-6 and len(np.unique(nearest)) == model.num_vertices


def test_bundle_preview_draws_characters_an_expression_video_and_a_turntable(bundle_path, tmp_path, capsys):
    import imageio.v3 as iio

    from stylemm_export.bundle_cli import main

    assert main(["preview", str(bundle_path), "--out", str(tmp_path), "--count", "2", "--size", "64", "--turntable-seconds", "1"]) == 0
    sheet = iio.imread(tmp_path / "characters.png")
    assert sheet.shape[1] >= 2 * 64 and sheet.std() > 5  # two pictures, not blank
    assert (tmp_path / "expressions.mp4").stat().st_size > 1000
    assert "expressions.mp4 (96 frames)" in capsys.readouterr().out  # 4 presets x 24 frames
    turning = iio.imread(tmp_path / "turntable.mp4")
    assert turning.shape == (30, 64, 64, 3)  # 1 s at 30 fps
    # A turn: the side view differs from the front, and the back from both.
    front, side, back = (turning[i].astype(float) for i in (0, 7, 15))
    assert np.abs(front - side).mean() > 3 and np.abs(front - back).mean() > 3


def test_gallery_shows_the_same_identities_in_every_style(bundle_path, tmp_path, capsys):
    import imageio.v3 as iio

    from stylemm_export.bundle_cli import main
    from stylemm_export.gallery import GALLERY_EXPRESSIONS, LABEL_WIDTH

    out = tmp_path / "styles.png"
    assert main(["gallery", str(bundle_path), str(bundle_path), "--out", str(out), "--identities", "2", "--size", "48"]) == 0
    sheet = iio.imread(out)
    header = 18
    assert sheet.shape[:2] == (header + 2 * 48, LABEL_WIDTH + (2 + len(GALLERY_EXPRESSIONS)) * 48)
    rows = [sheet[header + r * 48 : header + (r + 1) * 48, LABEL_WIDTH:].astype(float) for r in range(2)]
    np.testing.assert_array_equal(rows[0], rows[1])  # the same bundle twice: the same seeds are the same faces
    tiles = [rows[0][:, k * 48 : (k + 1) * 48] for k in range(2 + len(GALLERY_EXPRESSIONS))]
    assert np.abs(tiles[0] - tiles[1]).mean() > 1  # two identities differ
    assert all(np.abs(tiles[0] - t).mean() > 0.5 for t in tiles[2:])  # the expressions show
    assert "2 styles x 2 identities" in capsys.readouterr().out


def test_threads_sharing_one_model_get_the_single_threaded_results(bundle_path):
    from concurrent.futures import ThreadPoolExecutor

    model = stylemm_runtime.load(bundle_path)

    def animate(seed):
        character = model.character(seed=seed, backend="exact" if seed % 2 else "baked")
        return [character.mesh(expression={"jawOpen": t, "mouthSmileLeft": 1 - t}, pose={"jaw": [t / 4, 0, 0]})
                for t in np.linspace(0, 1, 5)]  # fmt: skip

    alone = [animate(seed) for seed in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(animate, range(8)))
    for a, b in zip(alone, together):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
