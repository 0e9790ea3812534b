"""D: the surface-deformation network (LeGO-style), V = V0 + f(V0; theta(code)).

A per-vertex SIREN maps each template vertex to its offset; its weights are not
learned directly but produced by a hypernetwork from the concatenated codes of a
shape encoder and an expression encoder. Being per-vertex, it keeps the mesh, and
being a network, it can be fine-tuned into a stylized deformation (D_style).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from stylemm.nets.base import Network


@dataclass
class DeformerConfig:
    shape_dim: int
    expression_dim: int
    shape_code: int = 256  # LeGO's shape encoder output
    expression_code: int = 64  # LeGO's expression encoder output
    hidden: int = 64  # SIREN width (LeGO: 256; see README for the trade-off on a CPU)
    layers: int = 3  # hidden SIREN layers
    hyper_hidden: int = 256
    w0: float = 30.0

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(in, out) of each SIREN layer, the last one linear to the 3D offset."""
        dims = [3] + [self.hidden] * self.layers + [3]
        return list(zip(dims[:-1], dims[1:]))


class MLP(nn.Module):
    """Linear -> SiLU -> Linear. Its two layers are named, not numbered: the bundle names the
    deformer's arrays after them (docs/bundle-format.md), so the names are a contract."""

    def __init__(self, inputs: int, hidden: int, outputs: int):
        super().__init__()
        self.hidden = nn.Linear(inputs, hidden)
        self.out = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.nn.functional.silu(self.hidden(x)))


class Deformer(Network):
    """``forward(shape (B, K), expression (B, E)) -> vertices (B, N, 3)``."""

    config_class = DeformerConfig
    layout_version = 2  # 2: named MLP layers (hidden, out) instead of nn.Sequential positions
    train_command = "stylemm-pretrain deformer"
    exact = frozenset({"template", "centre", "scale"})  # geometry stays float32

    def __init__(self, config: DeformerConfig, template: torch.Tensor):
        super().__init__()
        self.config = config
        self.register_buffer("template", template.float().clone())
        centre = (template.amax(0) + template.amin(0)) / 2
        self.register_buffer("centre", centre.float())
        self.register_buffer("scale", (template - centre).abs().max().float().reshape(1))
        self.shape_encoder = MLP(config.shape_dim, config.shape_code, config.shape_code)
        self.expression_encoder = MLP(config.expression_dim, config.expression_code, config.expression_code)
        code = config.shape_code + config.expression_code
        sizes = [i * o + o for i, o in config.layer_shapes()]
        self.hyper = MLP(code, config.hyper_hidden, sum(sizes))
        self._init_siren()

    def _init_siren(self) -> None:
        """Start from a SIREN (Sitzmann et al. init) in the hypernetwork's bias, small
        code-dependent changes on top, and a zero output layer: D starts at V0."""
        last = self.hyper.out
        nn.init.uniform_(last.weight, -1e-4, 1e-4)
        shapes = self.config.layer_shapes()
        output_size = shapes[-1][0] * shapes[-1][1] + shapes[-1][1]
        with torch.no_grad():
            last.weight[-output_size:].zero_()  # the output layer starts at zero for every code
        chunks = []
        for k, (fan_in, fan_out) in enumerate(shapes):
            bound = 1 / fan_in if k == 0 else math.sqrt(6 / fan_in) / self.config.w0
            weight = torch.empty(fan_out, fan_in).uniform_(-bound, bound)
            if k == len(shapes) - 1:
                weight.zero_()
            chunks += [weight.reshape(-1), torch.zeros(fan_out)]
        with torch.no_grad():
            last.bias.copy_(torch.cat(chunks))

    def siren_layers(self, shape: torch.Tensor, expression: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The SIREN's layers for each code, as the hypernetwork makes them: (weight (B, out, in),
        bias (B, out)) per layer; sin(w0 * h) follows every layer but the last."""
        code = torch.cat([self.shape_encoder(shape), self.expression_encoder(expression)], dim=-1)
        params = self.hyper(code)  # (B, P)
        layers, offset = [], 0
        for fan_in, fan_out in self.config.layer_shapes():
            weight = params[:, offset : offset + fan_in * fan_out].view(-1, fan_out, fan_in)
            offset += fan_in * fan_out
            layers.append((weight, params[:, offset : offset + fan_out]))
            offset += fan_out
        return layers

    def forward(self, shape: torch.Tensor, expression: torch.Tensor, vertices: torch.Tensor | None = None) -> torch.Tensor:
        """Deformed vertices (B, N, 3); ``vertices`` (M,) evaluates only those (training)."""
        layers = self.siren_layers(shape, expression)
        base = self.template if vertices is None else self.template[vertices]
        h = ((base - self.centre) / self.scale).expand(shape.shape[0], -1, -1)  # not len(): a free batch in ONNX
        for k, (weight, bias) in enumerate(layers):
            h = torch.baddbmm(bias[:, None, :], h, weight.transpose(1, 2))
            if k < len(layers) - 1:
                h = torch.sin(self.config.w0 * h)
        return base + h * self.scale

    @classmethod
    def build(cls, config: DeformerConfig, tensors: dict[str, torch.Tensor]) -> Deformer:
        return cls(config, tensors["template"])
