"""The native core's handles through stylemm_runtime._native: its deformer against ONNX
Runtime, its bakes against stylemm_runtime.baking, its frames against the numpy backend,
and the runtime's backend="native". The native module is required: without it these tests
error instead of skipping."""

import ctypes
import threading

import numpy as np
import pytest

import stylemm_runtime
from stylemm_runtime import baking, skinning
from stylemm_runtime.bundle import BundleError

MM = 1e-3  # bundles are in metres


@pytest.fixture(scope="module")
def runtime_model(bundle_path):
    return stylemm_runtime.load(bundle_path)


@pytest.fixture(scope="module")
def native_model(bundle_path):
    return stylemm_runtime.native().Model(bundle_path, threads=2)


def _random_inputs(model, count, seed):
    rng = np.random.default_rng(seed)
    shapes = rng.standard_normal((count, model.shape_dim)).astype(np.float32)
    return shapes, baking.sample_expressions(model.expression_names, count, rng)


def test_the_native_deformer_matches_onnx_runtime(runtime_model, native_model):
    shapes, expressions = _random_inputs(runtime_model, 6, seed=1)
    native = native_model.deform(shapes, expressions)
    exact = runtime_model.deform(shapes, expressions)
    assert native.shape == exact.shape and native.dtype == np.float32
    assert np.abs(native - exact).max() <= 0.01 * MM  # the parity bound
    assert np.abs(exact - runtime_model.template).max() > 1 * MM  # the networks really deform


@pytest.mark.parametrize("method", baking.METHODS)
def test_native_bakes_match_the_runtimes_bakes(runtime_model, native_model, method):
    shape = np.random.default_rng(2).standard_normal(runtime_model.shape_dim).astype(np.float32)
    expected = baking.bake(runtime_model, shape, method=method)
    # The runtime's fitted bake draws its combinations this way (baking.bake's defaults).
    fit = None if method == "unit" else baking.sample_expressions(runtime_model.expression_names, 256, np.random.default_rng(0))
    character = native_model.character(shape, fit_expressions=fit)
    assert np.abs(character.neutral - expected.neutral).max() <= 0.01 * MM
    assert np.abs(character.deltas - expected.deltas).max() <= 0.01 * MM


def test_the_native_backend_equals_the_numpy_backend(runtime_model):
    expression = {"jawOpen": 0.7, "eyeBlinkLeft": 1.0, "mouthSmileRight": 0.4}
    pose = {"jaw": [0.25, 0.0, 0.0], "neck": [0.1, 0.3, 0.0], "left_eye": [0.0, 0.2, 0.0]}
    native = runtime_model.character(seed=5, backend="native")
    baked = runtime_model.character(seed=5, backend="baked")
    assert (native.backend, baked.backend) == ("native", "baked")
    for p in (None, pose):
        vertices = native.mesh(expression=expression, pose=p)
        assert vertices.dtype == np.float32
        assert np.abs(vertices - baked.mesh(expression=expression, pose=p)).max() <= 1e-6
    assert runtime_model.character(seed=5, backend="auto").backend == "native"


def test_native_normals_are_the_runtimes_normals(runtime_model, native_model):
    character = runtime_model.character(seed=6, backend="baked")
    native = native_model.character_from_morphs(character.morphs.neutral, character.morphs.deltas)
    weights = runtime_model.expression_vector({"jawOpen": 0.5})
    pose = np.zeros((len(runtime_model.joint_names), 3), np.float32)
    pose[runtime_model.joint_names.index("neck")] = [0.2, -0.4, 0.1]
    vertices, normals = native.evaluate(weights, pose=pose, normals=True)
    expected = character.mesh(expression=weights, pose={"neck": pose[runtime_model.joint_names.index("neck")]})
    np.testing.assert_allclose(vertices, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(normals, character.normals(vertices), rtol=0, atol=1e-5)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-5)


def test_posing_follows_the_numpy_reference(runtime_model, native_model):
    """Joints regressed from the character's neutral mesh, then LBS (stylemm_runtime.skinning)."""
    shape = np.random.default_rng(3).standard_normal(runtime_model.shape_dim).astype(np.float32)
    character = native_model.character(shape)
    weights = baking.sample_expressions(runtime_model.expression_names, 1, np.random.default_rng(4))[0]
    pose = np.random.default_rng(5).uniform(-0.4, 0.4, (len(runtime_model.joint_names), 3)).astype(np.float32)
    rest = runtime_model.joint_regressor.astype(np.float64) @ character.neutral.astype(np.float64)
    unposed = character.neutral + np.tensordot(weights, character.deltas, axes=1)
    transforms = skinning.joint_transforms(rest, runtime_model.parents, skinning.rodrigues(pose))
    expected = skinning.skin(unposed, runtime_model.skin_weights, transforms)
    np.testing.assert_allclose(character.evaluate(weights, pose=pose), expected, rtol=0, atol=2e-6)


def test_a_crowd_equals_its_characters_one_by_one(runtime_model, native_model):
    shapes, expressions = _random_inputs(runtime_model, 5, seed=7)
    characters = [native_model.character(shape) for shape in shapes]
    poses = np.random.default_rng(8).uniform(-0.3, 0.3, (5, len(runtime_model.joint_names), 3)).astype(np.float32)
    vertices, normals = native_model.evaluate_many(characters, expressions, poses=poses, normals=True)
    for c, character in enumerate(characters):
        one_vertices, one_normals = character.evaluate(expressions[c], pose=poses[c], normals=True)
        assert np.array_equal(vertices[c], one_vertices) and np.array_equal(normals[c], one_normals)


def test_threads_sharing_a_model_get_the_same_frames(runtime_model, native_model):
    shapes, expressions = _random_inputs(runtime_model, 8, seed=9)
    characters = [native_model.character(shape) for shape in shapes]
    expected = [c.evaluate(e) for c, e in zip(characters, expressions)]
    results = [None] * 8

    def animate(i):
        results[i] = [characters[i].evaluate(expressions[i]) for _ in range(20)]

    threads = [threading.Thread(target=animate, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(frame, expected[i]) for i in range(8) for frame in results[i])


def test_loading_from_memory_equals_loading_from_a_path(bundle_path, native_model, runtime_model):
    from_memory = stylemm_runtime.native().Model(bundle_path.read_bytes())
    assert from_memory.info == native_model.info
    shapes, expressions = _random_inputs(runtime_model, 2, seed=10)
    assert np.array_equal(from_memory.deform(shapes, expressions), native_model.deform(shapes, expressions))


def test_bad_input_gets_named_errors(bundle_path, native_model, runtime_model):
    native = stylemm_runtime.native()
    e = len(runtime_model.expression_names)
    character = native_model.character(np.zeros(runtime_model.shape_dim))
    with pytest.raises(ValueError, match=r"expression must have shape \(%d,\)" % e):
        character.evaluate(np.zeros(e + 1))
    with pytest.raises(ValueError, match="expression contains NaN or Inf"):
        character.evaluate(np.full(e, np.nan))
    with pytest.raises(ValueError, match="pose contains NaN or Inf"):
        character.evaluate(np.zeros(e), pose=np.full((len(runtime_model.joint_names), 3), np.inf))
    with pytest.raises(ValueError, match=r"shape must have shape"):
        native_model.character(np.zeros(3))
    with pytest.raises(ValueError, match="shape contains NaN or Inf"):
        native_model.character(np.full(runtime_model.shape_dim, np.nan))
    with pytest.raises(ValueError, match="threads must be in"):
        native.Model(bundle_path, threads=0)
    with pytest.raises(BundleError, match="no bundle at"):
        native.Model(bundle_path.parent / "missing.smm")
    data = bundle_path.read_bytes()
    with pytest.raises(BundleError, match="damaged .smm archive"):
        native.Model(data[: len(data) // 2])  # truncated
    other = stylemm_runtime.native().Model(bundle_path)
    with pytest.raises(ValueError, match="this model"):
        native_model.evaluate_many([other.character(np.zeros(runtime_model.shape_dim))], np.zeros((1, e)))


def test_a_bundle_without_deformer_weights_can_still_animate_given_bakes(runtime_model, tmp_path, bundle_path):
    """Older bundles: characters come from bakes made elsewhere; baking natively is refused by name."""
    import json
    import zipfile

    folder = tmp_path / "old"
    with zipfile.ZipFile(bundle_path) as archive:
        archive.extractall(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["networks"]["deformer"]["native"]
    for name in [n for n in manifest["arrays"] if n.startswith("deformer.")]:
        file = manifest["arrays"].pop(name)["file"]
        del manifest["files"][file]
        (folder / file).unlink()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    old = stylemm_runtime.native().Model(folder)
    with pytest.raises(BundleError, match="re-export it"):
        old.character(np.zeros(runtime_model.shape_dim))
    morphs = baking.bake(runtime_model, np.zeros(runtime_model.shape_dim, np.float32), method="unit")
    character = old.character_from_morphs(morphs.neutral, morphs.deltas)
    np.testing.assert_allclose(character.evaluate(np.ones(len(runtime_model.expression_names)) * 0.1),
                               morphs.mesh(np.full(len(runtime_model.expression_names), 0.1, np.float32)), atol=1e-6)  # fmt: skip


def test_the_c_library_is_installed_and_matches_the_module():
    library = ctypes.CDLL(str(stylemm_runtime.native_library()))
    native = stylemm_runtime.native()
    assert library.smm_version() == native.version() == native.HEADER_VERSION
    assert library.smm_check_version(native.HEADER_VERSION) == 0
    assert library.smm_check_version(native.HEADER_VERSION + 100) == 7  # another minor version: SMM_ERR_VERSION


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["networks"]["deformer"]["native"].update(w0=1e300), "w0 must be a finite number"),  # finite only as a double
    (lambda m: m["parameters"]["expression"].update(range=[0, 1e300]), "range must be null"),
    (lambda m: m["joints"].update(parents=[2**64 - 1] + m["joints"]["parents"][1:]), "parents\\[0\\] == -1"),  # not -1 wrapped
])  # fmt: skip
def test_the_native_reader_refuses_values_that_overflow_its_types(bundle_path, tmp_path, edit, message):
    """Found by the fuzzer (tests/fuzz): each of these once loaded, and baked NaN meshes or a wrong rig."""
    import json
    import zipfile

    folder = tmp_path / "b"
    with zipfile.ZipFile(bundle_path) as archive:
        archive.extractall(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=message):
        stylemm_runtime.native().Model(folder)
