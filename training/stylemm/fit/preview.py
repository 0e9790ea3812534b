"""``preview.png``: the photo | the realistic fit drawn over it | the stylized face in the same
pose, each as a square view of the head (view.face_camera: the photo resampled, not cropped)."""

from __future__ import annotations

import numpy as np
import torch

from stylemm.fit.photometric import UNLIT, shade
from stylemm.fit.view import face_camera, resample
from stylemm.render import MeshRenderer

PANEL = 384  # px of each square panel
HEAD_MARGIN = 2.4  # the panel's half-width over the face landmarks' angular radius: hair and chin in view


def head_view(landmark_points: np.ndarray):
    """The panel camera for a head whose 3D landmarks (L, 3) are in the photo camera's frame."""
    return face_camera(landmark_points, PANEL, HEAD_MARGIN)


def photo_panel(image: np.ndarray, focal: float, view) -> torch.Tensor:
    return resample(image, focal, view)


def overlay(model, photo: torch.Tensor, view, vertices: torch.Tensor, texture: torch.Tensor, lighting: torch.Tensor) -> np.ndarray:
    """The textured head (1, N, 3) lit by the fitted lighting, drawn over ``photo`` (1, 3, S, S) as ``view`` sees it."""
    with torch.no_grad():
        out = MeshRenderer(model.faces, model.uvs, model.uv_faces)(vertices, view, texture=texture, shading=UNLIT, background=0.0)
        lit = shade(out.rgb, out.normals, lighting).clamp(min=0)
        drawn = lit + photo * (1 - out.alpha)  # on a black background the render is premultiplied by alpha
    return to_uint8(drawn)


def sheet(*panels: np.ndarray) -> np.ndarray:
    gap = np.full((panels[0].shape[0], 8, 3), 255, np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [gap, panel]
    return np.concatenate(row, 1)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    return (image[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
