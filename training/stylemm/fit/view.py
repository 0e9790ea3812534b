"""The photo's camera in the renderer's terms, the head posed in it, and a square view of
the face for the photometric steps.

The landmark fit works in the photo's camera frame (camera at the origin looking down -Z,
the runtime's PinholeCamera), so the world frame here *is* that camera frame. A photo's
face may fill a tenth of it; the photometric steps render a small square view centred on
the head instead: a camera at the same centre turned towards the head, with the photo
resampled into it through the homography of that turn (exact for a pinhole camera, unlike
a crop, which would move the principal point the renderer's cameras keep centred).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from stylemm.render import Camera
from stylemm.stylize.source import pose_mesh

MARGIN = 1.35  # the square view's half-width over the face's angular radius


def photo_camera(width: int, height: int, focal: float) -> Camera:
    """The renderer's camera for the whole photo: at the origin, looking down -Z."""
    fov = math.degrees(2 * math.atan((height / 2) / focal))
    return Camera(eye=torch.zeros(1, 3), target=torch.tensor([[0.0, 0.0, -1.0]]), width=width, height=height, fov_y=fov)


def face_camera(points: np.ndarray, size: int, margin: float = MARGIN) -> Camera:
    """A square camera at the origin aimed at the centre of the 3D points (L, 3), framing them."""
    centre = points.mean(0)
    direction = centre / np.linalg.norm(centre)
    radius = np.arccos(np.clip((points / np.linalg.norm(points, axis=1, keepdims=True)) @ direction, -1, 1)).max()
    fov = math.degrees(2 * margin * radius)
    return Camera(eye=torch.zeros(1, 3), target=torch.as_tensor(centre, dtype=torch.float32)[None], width=size, height=size,
                  fov_y=fov)  # fmt: skip


def resample(image: np.ndarray, focal: float, view: Camera) -> torch.Tensor:
    """The photo (H, W, 3) uint8 as ``view`` would see it: (1, 3, size, size) in [0, 1], bilinear."""
    height, width = image.shape[:2]
    rays = view_rays(view)  # (S, S, 3) in the photo camera's frame
    depth = -rays[..., 2]
    x = width / 2 + focal * rays[..., 0] / depth
    y = height / 2 - focal * rays[..., 1] / depth
    grid = torch.stack([x / width * 2 - 1, y / height * 2 - 1], -1)[None].float()
    return torch.nn.functional.grid_sample(photo_tensor(image), grid, mode="bilinear", padding_mode="border", align_corners=False)


def photo_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float in [0, 1] (a copy: images read by Pillow are read-only)."""
    return torch.tensor(np.asarray(image)).permute(2, 0, 1)[None].float() / 255


def view_rays(camera: Camera) -> torch.Tensor:
    """(H, W, 3) world directions through each pixel centre of a camera at the origin."""
    f = 1.0 / math.tan(math.radians(camera.fov_y) / 2)
    aspect = camera.width / camera.height
    xs = ((torch.arange(camera.width) + 0.5) / camera.width * 2 - 1) * aspect / f
    ys = (1 - (torch.arange(camera.height) + 0.5) / camera.height * 2) / f
    local = torch.stack([xs[None, :].expand(camera.height, -1), ys[:, None].expand(-1, camera.width),
                         -torch.ones(camera.height, camera.width)], -1)  # fmt: skip
    rotation = camera.view_matrix()[0, :3, :3]  # rows: the camera's axes in the world
    return local @ rotation


def posed(model, unposed: torch.Tensor, neutral: torch.Tensor, neck: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) meshes in the photo camera's frame: the neck turned by axis-angle ``neck`` (B, 3)
    about its joint (regressed from ``neutral``), then moved by ``translation`` (B, 3)."""
    return pose_mesh(model, unposed, neutral, {"neck": neck}) + translation[:, None, :]


def to_tensor(array, batch: bool = True) -> torch.Tensor:
    """A float32 copy (never a view of the caller's array: optimisers update it in place)."""
    t = torch.tensor(np.asarray(array, np.float32))
    return t[None] if batch else t
