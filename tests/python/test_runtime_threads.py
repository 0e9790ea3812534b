"""stylemm_runtime's threads: one per call unless asked, never spinning, same meshes."""

import numpy as np
import pytest
import torch

import stylemm_runtime
from stylemm.nets.deformer import Deformer, DeformerConfig
from stylemm.nets.texture_generator import TextureGeneratorConfig, TextureGenerator
from stylemm_export.bundle import write_bundle


@pytest.fixture(scope="module")
def bundle_path(openhead, tmp_path_factory):
    torch.manual_seed(0)
    deformer = Deformer(DeformerConfig(shape_dim=openhead.shape_dim, expression_dim=openhead.expression_dim, shape_code=16,
                                       expression_code=8, hidden=16, layers=2, hyper_hidden=16), openhead.template)  # fmt: skip
    generator = TextureGenerator(TextureGeneratorConfig(height=16, z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, channel_max=8))
    folder = tmp_path_factory.mktemp("bundles")
    return write_bundle(folder / "threads.smm", openhead, deformer.eval(), generator.eval(), style="threads")


@pytest.mark.parametrize("threads", [1, 2])
def test_sessions_use_the_threads_asked_for_and_never_spin(bundle_path, threads):
    model = stylemm_runtime.load(bundle_path, threads=threads)
    for session in (model._deformer, model._texture):
        options = session.get_session_options()
        assert options.intra_op_num_threads == threads
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_more_threads_give_the_same_meshes(bundle_path):
    one, two = (stylemm_runtime.load(bundle_path, threads=n) for n in (1, 2))
    rng = np.random.default_rng(0)
    shapes = rng.standard_normal((4, one.shape_dim)).astype(np.float32)
    expressions = rng.random((4, len(one.expression_names))).astype(np.float32)
    np.testing.assert_allclose(one.deform(shapes, expressions), two.deform(shapes, expressions), atol=1e-6)


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True, None])
def test_bad_thread_counts_are_named(bundle_path, threads):
    with pytest.raises(ValueError, match="threads must be a whole number >= 1"):
        stylemm_runtime.load(bundle_path, threads=threads)
