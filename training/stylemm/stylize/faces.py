"""The two sides of a stylized pair as the stylizers exchange them.

A source stylizer draws ``SourceFaces`` (random realistic faces with every parameter kept);
a stylizer turns them into ``StylizedFaces`` seen through the same cameras. Where the
stylizer builds the stylized face in 3D (the recipe stylizer), ``vertices`` is its exact
ground truth; image-only stylizers (EAS) leave it None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from stylemm.render.camera import Camera


@dataclass
class SourceFaces:
    """A batch of B random realistic faces, as rendered through D_src + G_src."""

    shape: torch.Tensor  # (B, K) identity, N(0, I)
    expression: torch.Tensor  # (B, E) in the model's expression space (ARKit weights for OpenHead)
    pose: dict[str, torch.Tensor]  # joint name -> (B, 3) axis-angle
    texture_z: torch.Tensor  # (B, Z) G_src latent
    texture: torch.Tensor  # (B, 3, Ht, Wt) in [0, 1], G_src's texture of texture_z
    camera: Camera  # batched: one view per face
    vertices: torch.Tensor  # (B, N, 3) posed source mesh, metres
    images: torch.Tensor  # (B, 3, H, W) in [0, 1], the source renders

    def __len__(self) -> int:
        return len(self.shape)


@dataclass
class StylizedFaces:
    """The stylized counterparts of a SourceFaces batch, aligned with it pixel for pixel."""

    images: torch.Tensor  # (B, 3, H, W) in [0, 1]
    vertices: torch.Tensor | None = None  # (B, N, 3) posed stylized mesh (3D ground truth), or None
    texture: torch.Tensor | None = None  # (B, 3, Ht, Wt) stylized UV texture, where known
    parts: torch.Tensor | None = None  # (B, H, W) int64: the model's part label seen at each pixel, -1 on background
    strengths: list[dict[str, float]] = field(default_factory=list)  # per sample: atom -> strength used
