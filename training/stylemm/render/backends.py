"""Where the two non-trivial steps of rendering run: visibility + barycentrics, and
antialiasing. Everything else (interpolation, textures, shading) is plain torch and runs
on any device.

- ``cpu``: this package's own rasterizer and edge antialiasing (works everywhere).
- ``cpu-reference``: the same CPU path as first written, slower and with the same outputs
  bit for bit; the fast path is tested and timed against it.
- ``nvdiffrast``: NVIDIA's CUDA rasterizer and antialiasing, for CUDA tensors where
  ``nvdiffrast`` is installed. Its outputs are converted to ours: row 0 at the top
  (nvdiffrast's is the bottom, as in OpenGL), triangle -1 for background (it stores
  id + 1), barycentric weights in face-corner order (it stores u, v with the third
  corner getting 1 - u - v), depth as NDC z / w (the same).

``auto`` takes nvdiffrast for CUDA tensors when it is installed, the CPU path otherwise.
"""

from __future__ import annotations

import importlib.util

import torch

from stylemm.render.antialias import antialias, antialias_reference, edge_neighbours
from stylemm.render.rasterize import (Rasterization, barycentrics, barycentrics_reference, interpolate, interpolate_reference,
                                      rasterize, rasterize_reference)

BACKENDS = ("auto", "cpu", "cpu-reference", "nvdiffrast")


class CpuBackend:
    name = "cpu"

    def __init__(self, faces: torch.Tensor, reference: bool = False):
        self.faces = faces
        self.neighbours = edge_neighbours(faces)
        self.reference = reference
        if reference:
            self.name = "cpu-reference"
        self.interpolate = interpolate_reference if reference else interpolate

    def rasterize(self, clip: torch.Tensor, pixels: torch.Tensor, height: int, width: int):
        visibility, weights = (rasterize_reference, barycentrics_reference) if self.reference else (rasterize, barycentrics)
        raster = visibility(pixels.detach(), (clip[..., 2] / clip[..., 3]).detach(), self.faces, height, width)
        return raster, weights(pixels, clip[..., 3], self.faces, raster)

    def antialias(self, color: torch.Tensor, raster: Rasterization, clip: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        blend = antialias_reference if self.reference else antialias
        return blend(color, raster, pixels, self.faces, self.neighbours)


class NvdiffrastBackend:
    name = "nvdiffrast"

    def __init__(self, faces: torch.Tensor, device: torch.device):
        if device.type != "cuda" or not torch.cuda.is_available():
            raise RuntimeError(
                "the nvdiffrast backend renders CUDA tensors on an NVIDIA GPU, and there is none here "
                f"(tensors on {device}); use backend='cpu' or 'auto'"
            )
        try:
            import nvdiffrast.torch as dr
        except ImportError as e:
            raise ImportError("the nvdiffrast backend needs nvdiffrast: pip install git+https://github.com/NVlabs/nvdiffrast") from e
        self.dr = dr
        self.context = dr.RasterizeCudaContext(device=device)
        self.triangles = faces.to(device=device, dtype=torch.int32).contiguous()
        self.interpolate = interpolate

    def rasterize(self, clip: torch.Tensor, pixels: torch.Tensor, height: int, width: int):
        native, _ = self.dr.rasterize(self.context, clip.float().contiguous(), self.triangles, (height, width))
        flipped = native.flip(1)
        triangle = flipped[..., 3].long() - 1
        covered = triangle >= 0
        depth = torch.where(covered, flipped[..., 2], torch.full_like(flipped[..., 2], torch.inf)).detach()
        u, v = flipped[..., 0], flipped[..., 1]
        weights = torch.stack([u, v, 1 - u - v], -1) * covered[..., None]
        return Rasterization(triangle, depth, native=native), weights.to(clip.dtype)

    def antialias(self, color: torch.Tensor, raster: Rasterization, clip: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        blended = self.dr.antialias(color.flip(1).float().contiguous(), raster.native, clip.float().contiguous(), self.triangles)
        return blended.flip(1).to(color.dtype)


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    return name


def make_backend(name: str, faces: torch.Tensor, device: torch.device):
    """The backend called ``name`` for tensors on ``device``."""
    if check_backend(name) == "auto":
        gpu = device.type == "cuda" and importlib.util.find_spec("nvdiffrast") is not None
        name = "nvdiffrast" if gpu else "cpu"
    if name == "nvdiffrast":
        return NvdiffrastBackend(faces, device)
    return CpuBackend(faces.to(device), reference=name == "cpu-reference")
