"""ONNX export of D and G: ONNX Runtime agrees with torch, the batch is free, opset 15."""

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from stylemm.nets.deformer import Deformer, DeformerConfig
from stylemm.nets.texture_generator import TextureGeneratorConfig, TextureGenerator
from stylemm_export.onnx_export import OPSET, export_deformer, export_texture_generator


def _session(path):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _perturbed(module):
    """Away from the initialisation (whose zero output layer would hide mistakes)."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    return module.eval()


def test_deformer_runs_in_onnxruntime_like_torch_for_any_batch(tmp_path):
    template = torch.rand(50, 3) * 0.2
    deformer = _perturbed(Deformer(DeformerConfig(shape_dim=6, expression_dim=4, shape_code=8, expression_code=4,
                                                  hidden=16, layers=2, hyper_hidden=16), template))  # fmt: skip
    path = export_deformer(deformer, tmp_path / "deformer.onnx")
    assert onnx.load(str(path)).opset_import[0].version == OPSET
    session = _session(path)
    for batch in (1, 5):
        shape, expression = torch.randn(batch, 6), torch.rand(batch, 4)
        (vertices,) = session.run(None, {"shape": shape.numpy(), "expression": expression.numpy()})
        with torch.no_grad():
            expected = deformer(shape, expression).numpy()
        assert vertices.shape == (batch, 50, 3)
        assert np.abs(vertices - expected).max() <= 0.05e-3  # 0.05 mm
        assert np.abs(vertices - template.numpy()).max() > 1e-3  # the network really deforms


def test_the_exported_deformer_works_over_the_vertices_only_in_products_and_sines(tmp_path):
    vertices = 50
    deformer = Deformer(DeformerConfig(shape_dim=6, expression_dim=4, shape_code=8, expression_code=4, hidden=16,
                                       layers=2, hyper_hidden=16), torch.rand(vertices, 3))  # fmt: skip
    model = onnx.shape_inference.infer_shapes(onnx.load(str(export_deformer(deformer, tmp_path / "deformer.onnx"))))
    dims = {info.name: [d.dim_value for d in info.type.tensor_type.shape.dim]
            for info in [*model.graph.value_info, *model.graph.output]}  # fmt: skip
    per_vertex = [node.op_type for node in model.graph.node if vertices in dims.get(node.output[0], [])]
    # Biases, w0 and the output scale are folded into the products: the one elementwise op
    # over all vertices is adding the template.
    assert sorted(per_vertex) == ["Add", "Expand", "MatMul", "MatMul", "MatMul", "Sin", "Sin"]


def test_texture_network_matches_torch_and_truncation_is_an_input(tmp_path):
    generator = _perturbed(TextureGenerator(TextureGeneratorConfig(height=16, z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, channel_max=8)))
    with torch.no_grad():
        generator.mapping.w_avg.normal_()
    session = _session(export_texture_generator(generator, tmp_path / "texture.onnx"))
    z = torch.randn(3, 8)
    for truncation in (1.0, 0.5):
        (texture,) = session.run(None, {"z": z.numpy(), "truncation": np.array([truncation], np.float32)})
        with torch.no_grad():
            expected = generator.texture(z, truncation=truncation, noise="const").numpy()
        assert texture.shape == (3, 3, 16, 32)
        assert np.abs(texture - expected).max() <= 1 / 255
    (average,) = session.run(None, {"z": z.numpy(), "truncation": np.zeros(1, np.float32)})
    np.testing.assert_allclose(average[0], average[2], atol=1e-6)  # truncation 0: the mean face for every z


def test_export_leaves_nothing_behind_when_it_fails(tmp_path):
    class Broken(torch.nn.Module):
        config = DeformerConfig(shape_dim=2, expression_dim=2)

        def forward(self, shape, expression):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        export_deformer(Broken(), tmp_path / "deformer.onnx")
    assert list(tmp_path.iterdir()) == []
