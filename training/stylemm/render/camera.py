"""Perspective cameras (OpenGL conventions, glTF axes): world -> clip space, batched."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class Camera:
    """A batch of pinhole cameras looking from ``eye`` at ``target``.

    eye, target: (B, 3) or (3,); up: world up (+Y). fov_y in degrees; the image is
    ``width`` x ``height`` pixels, pixel (0, 0) at the top left.
    """

    eye: torch.Tensor
    target: torch.Tensor
    width: int = 256
    height: int = 256
    fov_y: float = 20.0
    near: float = 0.05
    far: float = 10.0
    up: tuple[float, float, float] = (0.0, 1.0, 0.0)

    def view_matrix(self) -> torch.Tensor:
        """(B, 4, 4) world -> view (camera looks down -Z, +Y up)."""
        eye, target = torch.atleast_2d(self.eye), torch.atleast_2d(self.target)
        forward = torch.nn.functional.normalize(target - eye, dim=-1)
        up = torch.as_tensor(self.up, dtype=eye.dtype, device=eye.device).expand_as(forward)
        right = torch.nn.functional.normalize(torch.cross(forward, up, dim=-1), dim=-1)
        true_up = torch.cross(right, forward, dim=-1)
        rotation = torch.stack([right, true_up, -forward], dim=-2)  # rows: camera axes
        view = torch.zeros(*rotation.shape[:-2], 4, 4, dtype=eye.dtype, device=eye.device)
        view[..., :3, :3] = rotation
        view[..., :3, 3] = -(rotation @ eye[..., None])[..., 0]
        view[..., 3, 3] = 1
        return view

    def projection_matrix(self, dtype=torch.float32, device=None) -> torch.Tensor:
        """(4, 4) OpenGL perspective projection."""
        f = 1.0 / math.tan(math.radians(self.fov_y) / 2)
        aspect = self.width / self.height
        n, fa = self.near, self.far
        return torch.tensor(
            [[f / aspect, 0, 0, 0], [0, f, 0, 0], [0, 0, (fa + n) / (n - fa), 2 * fa * n / (n - fa)], [0, 0, -1, 0]],
            dtype=dtype,
            device=device,
        )

    def to_clip(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) world points -> (B, N, 4) homogeneous clip coordinates."""
        matrix = self.projection_matrix(points.dtype, points.device) @ self.view_matrix().to(points)
        homogeneous = torch.cat([points, torch.ones_like(points[..., :1])], dim=-1)
        return homogeneous @ matrix.transpose(-1, -2)

    def to_pixels(self, clip: torch.Tensor) -> torch.Tensor:
        """(..., 4) clip -> (..., 2) pixel coordinates; pixel centres sit at integer + 0.5."""
        ndc = clip[..., :2] / clip[..., 3:4]
        x = (ndc[..., 0] + 1) * (self.width / 2)
        y = (1 - ndc[..., 1]) * (self.height / 2)
        return torch.stack([x, y], dim=-1)

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) world points -> (B, N, 2) pixel coordinates (differentiable)."""
        return self.to_pixels(self.to_clip(points))


def orbit_camera(yaw_deg, pitch_deg=0.0, distance: float = 1.0, target=(0.0, 0.0, 0.0), **options) -> Camera:
    """Cameras on a sphere around ``target``; yaw 0 looks at the face (+Z), positive yaw
    moves the camera towards +X (the subject's left)."""
    yaw = torch.as_tensor(yaw_deg, dtype=torch.float32).reshape(-1).deg2rad()
    pitch = torch.as_tensor(pitch_deg, dtype=torch.float32).reshape(-1).deg2rad().expand_as(yaw)
    direction = torch.stack([torch.sin(yaw) * torch.cos(pitch), torch.sin(pitch), torch.cos(yaw) * torch.cos(pitch)], -1)
    centre = torch.as_tensor(target, dtype=torch.float32).expand_as(direction)
    return Camera(eye=centre + distance * direction, target=centre.clone(), **options)
