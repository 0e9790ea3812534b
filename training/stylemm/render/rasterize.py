"""Rasterization on the CPU, split as nvdiffrast splits it.

``rasterize`` decides visibility (which triangle each pixel sees) without gradients:
a discrete choice has none. ``barycentrics`` then recomputes, with gradients, where
each pixel centre lies inside its triangle from the current vertex positions, so
everything interpolated from them is differentiable w.r.t. the vertices.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Candidate (triangle, pixel) pairs are processed in chunks to bound memory.
CHUNK_PAIRS = 1 << 21


@dataclass
class Rasterization:
    triangle: torch.Tensor  # (B, H, W) int64 triangle index, -1 for background
    depth: torch.Tensor  # (B, H, W) NDC depth of the visible surface, +inf for background
    native: torch.Tensor | None = None  # a GPU backend's own raster output, for its antialiasing

    @property
    def mask(self) -> torch.Tensor:
        return self.triangle >= 0


def pixel_centres(height: int, width: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """(H, W, 2) pixel-centre coordinates (x, y)."""
    ys, xs = torch.meshgrid(torch.arange(height, dtype=dtype, device=device) + 0.5,
                            torch.arange(width, dtype=dtype, device=device) + 0.5, indexing="ij")  # fmt: skip
    return torch.stack([xs, ys], dim=-1)


@torch.no_grad()
def rasterize(pixels: torch.Tensor, ndc_depth: torch.Tensor, faces: torch.Tensor, height: int, width: int) -> Rasterization:
    """Closest triangle per pixel centre.

    pixels: (B, N, 2) vertex positions in pixels; ndc_depth: (B, N) z/w in [-1, 1]
    (vertices outside it are treated as clipped); faces: (F, 3).
    """
    batch = pixels.shape[0]
    triangle = torch.full((batch, height * width), -1, dtype=torch.long, device=pixels.device)
    depth = torch.full((batch, height * width), torch.inf, dtype=pixels.dtype, device=pixels.device)
    for b in range(batch):
        _rasterize_one(pixels[b], ndc_depth[b], faces, height, width, triangle[b], depth[b])
    return Rasterization(triangle.view(batch, height, width), depth.view(batch, height, width))


def _rasterize_one(xy, z, faces, height, width, triangle_out, depth_out) -> None:
    corners = xy[faces]  # (F, 3, 2)
    zs = z[faces]
    visible = ((zs > -1) & (zs < 1)).all(1)
    # Pixel centres inside each triangle's bounding box: x + 0.5 in [min, max].
    lo = torch.ceil(corners.amin(1) - 0.5).clamp(min=0)
    hi = torch.floor(corners.amax(1) - 0.5)
    hi[:, 0].clamp_(max=width - 1)
    hi[:, 1].clamp_(max=height - 1)
    size = (hi - lo + 1).clamp(min=0).long()
    count = torch.where(visible, size[:, 0] * size[:, 1], 0)
    tris = torch.nonzero(count > 0).squeeze(1)
    if len(tris) == 0:
        return
    # Walk the triangles in chunks whose candidate pairs fit in CHUNK_PAIRS.
    cumulative = torch.cumsum(count[tris], 0)
    start = 0
    while start < len(tris):
        base = cumulative[start - 1] if start else 0
        stop = int(torch.searchsorted(cumulative, base + CHUNK_PAIRS, right=True))
        stop = max(stop, start + 1)
        _rasterize_chunk(tris[start:stop], corners, zs, lo.long(), size, count, width, triangle_out, depth_out)
        start = stop


def _rasterize_chunk(tris, corners, zs, lo, size, count, width, triangle_out, depth_out) -> None:
    n = count[tris]
    tri = torch.repeat_interleave(tris, n)
    offsets = torch.cumsum(n, 0) - n
    local = torch.arange(int(n.sum()), device=tri.device) - torch.repeat_interleave(offsets, n)
    px = lo[tri, 0] + local % size[tri, 0]
    py = lo[tri, 1] + local // size[tri, 0]
    centre = torch.stack([px, py], -1).to(corners.dtype) + 0.5
    weights = screen_barycentrics(corners[tri], centre)
    inside = (weights >= 0).all(-1)
    tri, px, py, weights = tri[inside], px[inside], py[inside], weights[inside]
    # z/w is affine in screen space, so plain screen barycentrics interpolate it exactly.
    depth = (weights * zs[tri]).sum(-1)
    pixel = py * width + px
    before = depth_out.clone()
    depth_out.scatter_reduce_(0, pixel, depth, reduce="amin")
    triangle_out[depth_out < before] = -1  # an earlier chunk's winner lost to this chunk
    nearest = depth <= depth_out[pixel]
    # Among equal depths take the highest index: deterministic, whatever the order.
    triangle_out.scatter_reduce_(0, pixel[nearest], tri[nearest], reduce="amax")


def screen_barycentrics(corners: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """(..., 3, 2) triangle corners and (..., 2) points -> (..., 3) barycentric weights.

    Degenerate (zero-area) triangles get weights of -inf so nothing lands in them.
    """
    a, b, c = corners.unbind(-2)
    area = _cross(b - a, c - a)
    w0 = _cross(b - point, c - point)
    w1 = _cross(c - point, a - point)
    w2 = _cross(a - point, b - point)
    weights = torch.stack([w0, w1, w2], -1) / area[..., None]
    return torch.where(area[..., None] != 0, weights, torch.full_like(weights, -torch.inf))


def _cross(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def barycentrics(pixels: torch.Tensor, w: torch.Tensor, faces: torch.Tensor, raster: Rasterization) -> torch.Tensor:
    """Differentiable perspective-correct barycentrics (B, H, W, 3); zeros on background.

    pixels: (B, N, 2) vertex pixel positions and w: (B, N) clip w, both with gradients.
    Only covered pixels are computed (gathers are the expensive part on the CPU).
    """
    b, y, x = raster.mask.nonzero(as_tuple=True)
    vertex = faces[raster.triangle[b, y, x]]  # (M, 3)
    corners = pixels[b[:, None], vertex]  # (M, 3, 2)
    centre = torch.stack([x, y], -1).to(pixels.dtype) + 0.5
    screen = screen_barycentrics(corners, centre)
    # Perspective correction: interpolate attribute / w linearly, then divide by 1 / w.
    corrected = screen / w[b[:, None], vertex]
    weights = corrected / corrected.sum(-1, keepdim=True)
    dense = pixels.new_zeros(*raster.triangle.shape, 3)
    return dense.index_put((b, y, x), weights)


def interpolate(attributes: torch.Tensor, faces: torch.Tensor, raster: Rasterization, weights: torch.Tensor) -> torch.Tensor:
    """Per-vertex attributes (B or 1, N, C) -> per-pixel (B, H, W, C), zero on background.

    ``faces`` indexes ``attributes``; pass uv_faces with per-corner UVs.
    """
    b, y, x = raster.mask.nonzero(as_tuple=True)
    vertex = faces[raster.triangle[b, y, x]]  # (M, 3)
    source = b[:, None] if attributes.shape[0] > 1 else torch.zeros_like(vertex)
    values = attributes[source, vertex]  # (M, 3, C)
    per_pixel = (weights[b, y, x][..., None] * values).sum(-2)
    dense = attributes.new_zeros(*raster.triangle.shape, attributes.shape[-1])
    return dense.index_put((b, y, x), per_pixel)
