"""The bundle's two networks as ONNX files, with a free batch dimension:

- ``deformer.onnx``: (shape [B, K], expression [B, E]) -> vertices [B, N, 3]
- ``texture.onnx``: (z [B, Z], truncation [1]) -> texture [B, 3, H, W] in [0, 1]

The deformer's graph is rearranged for inference (``_DeformerGraph``); the function is the same.

Opset 15: the newest that Unity Sentis imports (it takes 7-15); Unreal's NNE runs ONNX
Runtime, which takes it too. The texture network's noise is frozen (its constant buffers),
so one z always gives the same texture, in the engine as here.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch
from torch import nn

from stylemm.io.atomic import atomic_path
from stylemm.nets.deformer import Deformer

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


class _DeformerGraph(nn.Module):
    """Deformer.forward rearranged so that each SIREN layer's work over all vertices is one
    matrix product (and a sine): ONNX Runtime took nearly as long for the bias adds and the
    w0 and scale multiplies over every vertex as for the products themselves (docs/runtime.md).

    - w0 and the output scale multiply each code's small weight matrices instead.
    - Each bias rides in the product as the weight of a constant input channel of ones, which
      every hidden layer makes anew for the next: its row is (0, ..., 0, pi/2), and
      sin(pi/2) = 1.
    """

    def __init__(self, deformer: Deformer):
        super().__init__()
        self.deformer = deformer

    def forward(self, shape: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        d = self.deformer
        layers = d.siren_layers(shape, expression)
        batch = shape.shape[0]
        points = (d.template - d.centre) / d.scale
        h = torch.cat([points, torch.ones_like(points[:, :1])], dim=1).expand(batch, -1, -1)
        for k, ((weight, bias), (fan_in, _)) in enumerate(zip(layers, d.config.layer_shapes())):
            hidden = k < len(layers) - 1
            matrix = torch.cat([weight, bias[:, :, None]], dim=2) * (d.config.w0 if hidden else d.scale)
            if hidden:
                ones = torch.tensor([0.0] * fan_in + [math.pi / 2]).expand(batch, 1, -1)
                matrix = torch.cat([matrix, ones], dim=1)
            h = torch.matmul(h, matrix.transpose(1, 2))
            if hidden:
                h = torch.sin(h)
        return d.template + h


def export_deformer(deformer, path, rearranged: bool = True) -> Path:
    """Any module with the deformer's signature and a ``config``; a stylemm Deformer is
    exported as its _DeformerGraph unless ``rearranged`` is False (for comparisons)."""
    config = deformer.config
    graph = _DeformerGraph(deformer) if rearranged and isinstance(deformer, Deformer) else deformer
    example = (torch.zeros(2, config.shape_dim), torch.zeros(2, config.expression_dim))
    axes = {"shape": {0: "batch"}, "expression": {0: "batch"}, "vertices": {0: "batch"}}
    return _export(graph, example, path, ["shape", "expression"], ["vertices"], axes)


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
