import pytest
import torch

# CI machines have 2 cores; one thread per test process avoids oversubscription.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def openhead_cache(tmp_path_factory):
    """A private cache folder so tests build OpenHead from scratch, never reusing a user's."""
    path = tmp_path_factory.mktemp("stylemm-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STYLEMM_CACHE", str(path))
        yield path


@pytest.fixture(scope="session")
def openhead(openhead_cache):
    from stylemm.facemodel import load

    return load("openhead")


@pytest.fixture(scope="session")
def networks(openhead):
    """A tiny deformer and texture generator on OpenHead, nudged away from their initialisation."""
    from stylemm.nets.deformer import Deformer, DeformerConfig
    from stylemm.nets.texture_generator import TextureGeneratorConfig, TextureGenerator

    torch.manual_seed(0)
    deformer = Deformer(DeformerConfig(shape_dim=openhead.shape_dim, expression_dim=openhead.expression_dim, shape_code=16,
                                       expression_code=8, hidden=16, layers=2, hyper_hidden=16), openhead.template)  # fmt: skip
    generator = TextureGenerator(TextureGeneratorConfig(height=16, z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, channel_max=8))
    with torch.no_grad():
        for p in list(deformer.parameters()) + list(generator.parameters()):
            p.add_(0.02 * torch.randn_like(p))  # away from the initialisation, which would hide mistakes
    return deformer.eval(), generator.eval()


@pytest.fixture(scope="session")
def bundle_path(openhead, networks, tmp_path_factory):
    """A .smm bundle of the tiny networks."""
    from stylemm_export.bundle import write_bundle

    return write_bundle(tmp_path_factory.mktemp("bundles") / "test.smm", openhead, *networks, style="test", prompt="a test")


@pytest.fixture(scope="session")
def native():
    """The native core module: ImportError (a test error, not a skip) without a native build."""
    import stylemm_runtime

    return stylemm_runtime.native()


@pytest.fixture(scope="session")
def khronos_validator():
    """``validate(path) -> report``: the Khronos glTF validator's JSON report on a .glb (node + the
    npm package dev.sh installs; its absence is a test error, not a skip)."""
    import json
    import shutil
    import subprocess

    node = shutil.which("node")
    assert node, "node is needed for the glTF validator (dev.sh installs it)"

    def validate(path) -> dict:
        result = subprocess.run([node, "tests/gltf/validate.js", str(path)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return validate
