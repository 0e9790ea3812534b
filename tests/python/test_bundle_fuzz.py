"""Fuzzing the bundle reader: 10,000 mutated bundles (damaged archives, hostile manifests)
either load or raise BundleError; nothing else escapes, nothing hangs."""

import json
import zipfile

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stylemm_runtime
from small_models import smooth_model
from stylemm.nets.deformer import Deformer, DeformerConfig
from stylemm.nets.texture_generator import TextureGeneratorConfig, TextureGenerator
from stylemm_export.bundle import write_bundle
from stylemm_runtime.bundle import BundleError

FUZZ = settings(max_examples=5000, deadline=2000, derandomize=True, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    model = smooth_model()
    deformer = Deformer(DeformerConfig(shape_dim=model.shape_dim, expression_dim=model.expression_dim, shape_code=4,
                                       expression_code=4, hidden=4, layers=1, hyper_hidden=4), model.template)  # fmt: skip
    generator = TextureGenerator(TextureGeneratorConfig(height=4, z_dim=4, w_dim=4, mapping_layers=1, channel_base=8, channel_max=2))
    torch.manual_seed(0)
    return write_bundle(tmp_path_factory.mktemp("fuzz") / "tiny.smm", model, deformer, generator, style="fuzz")


def _load(path):
    try:
        stylemm_runtime.load(path)
    except BundleError:
        pass


@FUZZ
@given(data=st.data())
def test_damaged_archives_load_or_raise_bundle_error(archive, tmp_path_factory, data):
    blob = bytearray(archive.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    path = tmp_path_factory.getbasetemp() / "damaged.smm"
    path.write_bytes(bytes(blob))
    _load(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(data=st.data())
def test_hostile_manifests_load_or_raise_bundle_error(archive, tmp_path_factory, data):
    with zipfile.ZipFile(archive) as source:
        files = {name: source.read(name) for name in source.namelist()}
    manifest = json.loads(files["manifest.json"])
    for _ in range(data.draw(st.integers(1, 3))):
        node, key = _pick(manifest, data)
        node[key] = data.draw(JSON)
    files["manifest.json"] = json.dumps(manifest).encode()
    path = tmp_path_factory.getbasetemp() / "hostile.smm"
    with zipfile.ZipFile(path, "w") as out:
        for name, content in files.items():
            out.writestr(name, content)
    _load(path)


def _pick(manifest, data):
    """A random (container, key) somewhere in the manifest, to replace with junk."""
    node = manifest
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, (dict, list)) or not child or data.draw(st.booleans()):
            return node, key
        node = child
