"""The fitted person in a style: D_style with the fitted shape, G_style with the fitted
texture latent, and the photo's own detail carried over on top of G_style's texture.

The detail is what the photo shows beyond G_src's inversion (captured albedo - G_src(z),
where the capture is trusted): moles, freckles, tone, the person's own brows. Added to
G_style(z) at ``detail`` strength it survives where the style keeps skin-like colours;
for the realistic pack (G_style = G_src) at 1 it is exactly the captured texture.
"""

from __future__ import annotations

import torch

from stylemm.stylize.source import posed_vertices

REALISTIC_DETAIL = 1.0  # the realistic pack keeps the photo as it is
STYLE_DETAIL = 0.5  # a stylized pack takes half: the style's colours stay, the person's marks show


def default_detail(style: str) -> float:
    return REALISTIC_DETAIL if style == "realistic" else STYLE_DETAIL


def texture(generator, source_generator, texture_z: torch.Tensor, albedo: torch.Tensor, weight: torch.Tensor,
            detail: float) -> torch.Tensor:  # fmt: skip
    """(1, 3, H, W) at the capture's size: G_style(z) + detail * (captured - G_src(z)) where captured."""
    size = albedo.shape[-2:]
    up = lambda t: torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False)  # noqa: E731
    with torch.no_grad():
        styled, source = up(generator.texture(texture_z)), up(source_generator.texture(texture_z))
    return (styled + detail * weight * (albedo[None] - source)).clamp(0, 1)


def vertices(model, deformer, shape: torch.Tensor, expression: torch.Tensor, neck: torch.Tensor,
             translation: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """(1, N, 3) D_style's mesh of the fitted identity and expression, posed as in the photo."""
    with torch.no_grad():
        return posed_vertices(model, deformer, shape, expression, {"neck": neck}) + translation[:, None, :]
