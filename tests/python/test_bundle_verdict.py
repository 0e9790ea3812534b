"""One bundle verdict: the Python reader and the native reader check the same rules
(runtime/stylemm_runtime/bundle_rules.json), so they accept and refuse the same bundles with
the same message. Fuzzed differentially: both readers get the same mutated bundles."""

import hashlib
import json
import re
import shutil

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import stylemm_runtime
from small_models import smooth_model
from stylemm.facemodel.model import FaceModel, FaceModelArrays
from stylemm.nets.deformer import Deformer, DeformerConfig
from stylemm.nets.texture_generator import TextureGenerator, TextureGeneratorConfig
from stylemm_export.bundle import write_bundle
from stylemm_runtime import bundle_rules
from stylemm_runtime.bundle import Bundle, BundleError

native = pytest.importorskip("stylemm_runtime._native")
DIFFERENTIAL = settings(max_examples=600, deadline=5000, derandomize=True, suppress_health_check=list(HealthCheck), database=None)


def _write(model, folder):
    torch.manual_seed(0)
    deformer = Deformer(DeformerConfig(shape_dim=model.shape_dim, expression_dim=model.expression_dim, shape_code=4,
                                       expression_code=4, hidden=4, layers=1, hyper_hidden=4), model.template)  # fmt: skip
    generator = TextureGenerator(TextureGeneratorConfig(height=4, z_dim=4, w_dim=4, mapping_layers=1, channel_base=8, channel_max=2))
    return write_bundle(folder, model, deformer, generator, style="verdict")


def _textured_model():
    """smooth_model with what it lacks for these rules: a UV layout, two joints, two parts."""
    base, rng = smooth_model(), np.random.default_rng(3)
    n = base.num_vertices
    weights = rng.uniform(size=(n, 2))
    return FaceModel(FaceModelArrays(
        name="verdict", template=base.template.numpy(), faces=rng.integers(0, n, (40, 3)), uvs=rng.uniform(size=(50, 2)),
        uv_faces=rng.integers(0, 50, (40, 3)), shapedirs=base.shapedirs.numpy(), exprdirs=base.exprdirs.numpy(),
        expression_names=base.expression_names, joint_regressor=np.full((2, n), 1 / n), parents=[-1, 0],
        joint_names=["global", "head"], lbs_weights=weights / weights.sum(1, keepdims=True),
        part_labels=rng.integers(0, 2, n), part_names=["face", "scalp"], expression_range=(0.0, 1.0)))  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _write(_textured_model(), tmp_path_factory.mktemp("verdict") / "tiny")


def verdicts(path) -> tuple[str, str]:
    """What each reader says of ``path``: "ok", or its message without the path in front."""

    def say(read):
        try:
            read(str(path))
        except BundleError as e:
            return str(e).removeprefix(f"{path}: ")
        return "ok"

    return say(Bundle), say(lambda p: stylemm_runtime.native().Model(p))


def _rewrite(folder, manifest, arrays):
    """Write changed arrays and the manifest, with sizes and sha256 made consistent again."""
    for name, values in arrays.items():
        entry = manifest["arrays"][name]
        (folder / entry["file"]).write_bytes(np.ascontiguousarray(values).tobytes())
    for name in manifest["files"]:
        data = (folder / name).read_bytes()
        manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_uv_faces_past_the_uv_array_are_refused_by_both_readers_with_one_message(folder, tmp_path):
    bad = shutil.copytree(folder, tmp_path / "bad")
    manifest = json.loads((bad / "manifest.json").read_text())
    uv_faces = Bundle(folder).array("uv_faces").copy()
    uv_faces[7, 1] = manifest["mesh"]["uv_vertices"]  # one past the end
    _rewrite(bad, manifest, {"uv_faces": uv_faces})
    python, c = verdicts(bad)
    assert python == c == f"array 'uv_faces' holds an index outside [0, {manifest['mesh']['uv_vertices']}): it indexes uv_vertices"


def test_both_readers_accept_the_written_bundle_and_one_of_format_1_0(folder, tmp_path):
    assert verdicts(folder) == ("ok", "ok")
    old = shutil.copytree(folder, tmp_path / "old")
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["format_minor"]  # 1.0 numbered the deformer's layers
    for name in [n for n in manifest["arrays"] if ".hidden." in n or ".out." in n]:
        manifest["arrays"][name.replace(".hidden.", ".0.").replace(".out.", ".2.")] = manifest["arrays"].pop(name)
    _rewrite(old, manifest, {})
    assert verdicts(old) == ("ok", "ok")
    face = stylemm_runtime.native().Model(str(old)).character(np.zeros(Bundle(old).dimensions["shape_dim"], np.float32))
    assert face is not None  # the numbered arrays were found and baked from


def test_the_compiled_in_rules_are_the_rules_file():
    assert bundle_rules.HEADER.read_text() == bundle_rules.c_header(), "run: python -m stylemm_runtime.bundle_rules"


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-(2**33), 2**33), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=4), st.lists(st.integers(-3, 5000), max_size=3))  # fmt: skip


def _mutate_array(manifest, arrays, folder, data):
    name = data.draw(st.sampled_from(sorted(manifest["arrays"])))
    values = np.fromfile(folder / manifest["arrays"][name]["file"], dtype="<i4" if manifest["arrays"][name]["dtype"] == "int32" else "<f4")
    if values.size:
        i = data.draw(st.integers(0, values.size - 1))
        if values.dtype.kind == "i":
            values[i] = data.draw(st.sampled_from([-1, 0, 2, 299, 300, 301, 1000, 2**31 - 1]))
        else:
            values[i] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.5, 1e30]))
    arrays[name] = values


def _mutate_entry(manifest, data):
    name = data.draw(st.sampled_from(sorted(manifest["arrays"])))
    entry = manifest["arrays"][name]
    choice = data.draw(st.sampled_from(["drop", "dtype", "shape", "axis"]))
    if choice == "drop":
        del manifest["arrays"][name]
    elif choice == "dtype":
        entry["dtype"] = "int32" if entry["dtype"] == "float32" else "float32"
    elif choice == "shape":
        entry["shape"] = entry["shape"][::-1]
    elif entry["shape"]:
        k = data.draw(st.integers(0, len(entry["shape"]) - 1))
        entry["shape"][k] = max(0, entry["shape"][k] + data.draw(st.sampled_from([-1, 1])))


FIELDS = [("mesh", "vertices"), ("mesh", "triangles"), ("mesh", "uv_vertices"), ("parameters", "shape", "dim"),
          ("parameters", "texture_z", "dim"), ("parameters", "expression", "range"), ("parameters", "expression", "names"),
          ("joints", "parents"), ("joints", "names"), ("parts",), ("format_minor",),
          ("networks", "deformer", "native"), ("networks", "deformer", "native", "hidden"),
          ("networks", "deformer", "native", "layers"), ("networks", "deformer", "native", "w0"),
          ("networks", "deformer", "native", "shape_code"), ("networks", "deformer", "native", "activation")]  # fmt: skip


def _mutate_field(manifest, data):
    path = data.draw(st.sampled_from(FIELDS))
    node = manifest
    for key in path[:-1]:
        node = node[key]
    old = node[path[-1]]
    if isinstance(old, list) and old and data.draw(st.booleans()):
        old[data.draw(st.integers(0, len(old) - 1))] = data.draw(JUNK)
    elif isinstance(old, int) and not isinstance(old, bool) and data.draw(st.booleans()):
        node[path[-1]] = old + data.draw(st.sampled_from([-1, 1, -old]))
    else:
        node[path[-1]] = data.draw(JUNK)


@DIFFERENTIAL
@given(data=st.data())
def test_both_readers_give_the_same_verdict_on_mutated_bundles(folder, tmp_path_factory, data):
    work = tmp_path_factory.getbasetemp() / "mutated"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(folder, work)
    manifest, arrays = json.loads((work / "manifest.json").read_text()), {}
    for _ in range(data.draw(st.integers(1, 3))):
        mutation = data.draw(st.sampled_from(["array", "entry", "field"]))
        if mutation == "array":
            _mutate_array(manifest, arrays, work, data)
        elif mutation == "entry":
            _mutate_entry(manifest, data)
        else:
            _mutate_field(manifest, data)
    _rewrite(work, manifest, {name: values for name, values in arrays.items() if name in manifest["arrays"]})
    python, c = verdicts(work)
    event(re.sub(r"[0-9]+", "N", python))
    assert python == c


@pytest.mark.parametrize("depth", [62, 63, 64])
def test_both_readers_draw_the_nesting_limit_at_the_same_depth(folder, tmp_path, depth):
    deep = shutil.copytree(folder, tmp_path / "deep")
    manifest = json.loads((deep / "manifest.json").read_text())
    junk = 0
    for _ in range(depth):
        junk = [junk]
    manifest["junk"] = junk
    (deep / "manifest.json").write_text(json.dumps(manifest))
    python, c = verdicts(deep)
    assert python == c == ("ok" if depth < 64 else "manifest.json is not valid JSON, or nests deeper than 64 levels")


def test_landmark_triangles_without_their_barycentrics_are_refused_by_both(bundle_path, tmp_path):
    import zipfile

    half = tmp_path / "half"
    with zipfile.ZipFile(bundle_path) as archive:
        archive.extractall(half)
    manifest = json.loads((half / "manifest.json").read_text())
    assert len(Bundle(half).array("landmark_triangles")) == 478
    del manifest["arrays"]["landmark_barycentrics"]
    _rewrite(half, manifest, {})
    assert verdicts(half) == ("the manifest has no array 'landmark_barycentrics'",) * 2
    del manifest["arrays"]["landmark_triangles"]  # neither: a bundle without landmarks, as 1.0 ones are
    _rewrite(half, manifest, {})
    assert verdicts(half) == ("ok", "ok")
