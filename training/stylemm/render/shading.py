"""Shading models for the renderer beyond its default Lambert headlight: toon, matte, glossy.

A ``Shading`` is a handful of continuous parameters, so styles can blend them (a recipe adds
each shading atom's parameter change times its strength) and the trainer can render with
exactly the shading its target images were made with (``Shading.from_dict`` of what the
dataset recorded). Every step is smooth (toon bands are sigmoids, not a hard quantiser), so
gradients reach normals, vertices and albedo.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import torch

# The renderer's own Lambert headlight: light = AMBIENT + (1 - AMBIENT) * max(n . l, 0).
DEFAULT_AMBIENT = 0.35


@dataclass(frozen=True)
class Shading:
    """light = ambient + (1 - ambient) * diffuse, rgb = albedo * light + specular highlight.

    toon: 0 keeps the smooth Lambert term, 1 replaces it by ``bands`` flat levels (soft steps
    ``softness`` wide in n . l); specular, shininess: a white Blinn-Phong highlight from the
    headlight (for metal, polished stone).
    """

    ambient: float = DEFAULT_AMBIENT
    toon: float = 0.0
    bands: int = 3
    softness: float = 0.03
    specular: float = 0.0
    shininess: float = 24.0

    def __post_init__(self):
        problems = [f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                    if not torch.isfinite(torch.tensor(float(getattr(self, f.name))))]  # fmt: skip
        if problems or not 0 <= self.ambient <= 1 or not 0 <= self.toon <= 1 or self.bands < 2 or self.softness <= 0 \
                or self.specular < 0 or self.shininess <= 0:  # fmt: skip
            raise ValueError(f"invalid shading {self}: need ambient and toon in [0, 1], bands >= 2, "
                             f"softness > 0, specular >= 0, shininess > 0 {problems or ''}")  # fmt: skip

    def __call__(self, albedo: torch.Tensor, normals: torch.Tensor, to_light: torch.Tensor) -> torch.Tensor:
        """albedo, normals (..., 3) (unit normals), to_light (..., 3) unit, broadcastable -> rgb (..., 3).

        The light sits at the eye (the renderer's headlight), so the half vector is to_light.
        """
        cosine = (normals * to_light).sum(-1, keepdim=True)
        diffuse = cosine.clamp(min=0)
        if self.toon > 0:
            diffuse = torch.lerp(diffuse, self._bands(cosine), self.toon)
        rgb = albedo * (self.ambient + (1 - self.ambient) * diffuse)
        if self.specular > 0:
            # (x + eps)^p keeps the gradient finite where the surface turns away (x = 0).
            rgb = rgb + self.specular * (cosine.clamp(0, 1) + 1e-6) ** self.shininess
        return rgb

    def _bands(self, cosine: torch.Tensor) -> torch.Tensor:
        """Soft staircase from 0 to 1 with ``bands`` levels over n . l in [0, 1]."""
        steps = torch.arange(1, self.bands, dtype=cosine.dtype, device=cosine.device) / self.bands
        return torch.sigmoid((cosine - steps) / self.softness).mean(-1, keepdim=True)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Shading:
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown shading parameter(s) {sorted(unknown)}; known: {[f.name for f in fields(cls)]}")
        return cls(**values)

    def plus(self, change: dict, strength: float) -> Shading:
        """This shading with ``strength`` times each parameter change added (clamped to the valid range)."""
        values = self.to_dict()
        for key, delta in change.items():
            values[key] = values[key] + strength * delta
        values["ambient"] = min(max(values["ambient"], 0.0), 1.0)
        values["toon"] = min(max(values["toon"], 0.0), 1.0)
        values["specular"] = max(values["specular"], 0.0)
        return replace(self, **values)
