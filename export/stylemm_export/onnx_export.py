"""The bundle's two networks as ONNX files, with a free batch dimension:

- ``deformer.onnx``: (shape [B, K], expression [B, E]) -> vertices [B, N, 3]
- ``texture.onnx``: (z [B, Z], truncation [1]) -> texture [B, 3, H, W] in [0, 1]

Opset 15: the newest that Unity Sentis imports (it takes 7-15); Unreal's NNE runs ONNX
Runtime, which takes it too. The texture network's noise is frozen (its constant buffers),
so one z always gives the same texture, in the engine as here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from stylemm.fileio import atomic_path

OPSET = 15


class _TextureGraph(nn.Module):
    """Truncation as an input (a tensor, not a Python branch), noise frozen."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor, truncation: torch.Tensor) -> torch.Tensor:
        mapping = self.generator.mapping
        w = mapping.w_avg + (mapping(z) - mapping.w_avg) * truncation
        return (self.generator.synthesis(w, noise="const") * 0.5 + 0.5).clamp(0, 1)


def export_deformer(deformer, path) -> Path:
    config = deformer.config
    example = (torch.zeros(2, config.shape_dim), torch.zeros(2, config.expression_dim))
    axes = {"shape": {0: "batch"}, "expression": {0: "batch"}, "vertices": {0: "batch"}}
    return _export(deformer, example, path, ["shape", "expression"], ["vertices"], axes)


def export_texture_generator(generator, path) -> Path:
    example = (torch.zeros(2, generator.config.z_dim), torch.ones(1))
    axes = {"z": {0: "batch"}, "texture": {0: "batch"}}
    return _export(_TextureGraph(generator), example, path, ["z", "truncation"], ["texture"], axes)


def _export(graph: nn.Module, example: tuple, path, inputs: list[str], outputs: list[str], axes: dict) -> Path:
    """Trace ``graph`` to ``path`` (atomically), then check the file with onnx's checker."""
    import onnx

    path = Path(path)
    graph = graph.eval()
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-side input checks
        torch.onnx.export(graph, example, str(tmp), input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)  # fmt: skip
        onnx.checker.check_model(str(tmp), full_check=True)
    return path
