"""Random faces of a source model seen from random views: their parameters, and their
renders with procedural skin textures (what landmark embedding and its evaluation show
MediaPipe)."""

from __future__ import annotations

import numpy as np
import torch

from stylemm.render import MeshRenderer, orbit_camera
from stylemm.textures import SkinTextures

RENDER_SIZE = 512
BATCH = 4
# Where the head sits relative to the OpenHead origin (the head pivot), and how far away
# the camera is, so the face fills most of a 512 px frame at a 20 degree field of view.
HEAD_CENTRE = (0.0, 0.03, 0.02)
CAMERA_DISTANCE = 0.75


class RandomFaces:
    """Random identities, expressions, views and skin textures of a model, rendered in
    batches: what embedding and evaluation show MediaPipe. Textured, because MediaPipe
    agrees better with the geometry when it sees eyes, brows and lips, and because the
    stylized renders it will later read are textured too."""

    def __init__(self, model, count: int, seed: int):
        self.model, self.count, self.seed = model, count, seed
        self.parameters = random_faces(model, count, seed)
        self.renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces)
        self.skin = SkinTextures(model)

    def batches(self):
        """Yields (images (B, H, W, 3) uint8, vertices, camera, render) batch by batch."""
        for start in range(0, self.count, BATCH):
            yield self.render(slice(start, min(start + BATCH, self.count)))

    def render(self, index: slice):
        p = self.parameters
        textures = self.skin.sample(index.stop - index.start, torch.Generator().manual_seed(self.seed * 1_000_003 + index.start))
        with torch.no_grad():
            vertices = self.model(shape=p["shape"][index], expression=p["expression"][index])
            camera = orbit_camera(p["yaw"][index], p["pitch"][index], distance=CAMERA_DISTANCE, target=HEAD_CENTRE,
                                  width=RENDER_SIZE, height=RENDER_SIZE)  # fmt: skip
            out = self.renderer(vertices, camera, texture=textures)
        images = (out.rgb.permute(0, 2, 3, 1).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
        return images, vertices, camera, out


def random_faces(model, count: int, seed: int) -> dict:
    """Parameters of random faces seen from random views."""
    g = torch.Generator().manual_seed(seed)
    expression = torch.zeros(count, model.expression_dim)
    # A few active units per face, mostly mild: the landmarks should hold across expressions.
    for i in range(count):
        active = torch.randperm(model.expression_dim, generator=g)[:3]
        expression[i, active] = 0.5 * torch.rand(3, generator=g)
    if model.expression_range is None:
        expression = torch.randn(count, model.expression_dim, generator=g)
    return {
        "shape": torch.randn(count, model.shape_dim, generator=g),
        "expression": expression,
        "yaw": 70 * torch.rand(count, generator=g) - 35,
        "pitch": 30 * torch.rand(count, generator=g) - 15,
    }
