"""Analytic antialiasing with silhouette gradients (nvdiffrast's edge analysis).

Where two neighbouring pixels see different surfaces, the silhouette edge of the
nearer triangle crosses the segment between their centres. Blending the two colours
by where it crosses makes the image continuous in the vertex positions, so
gradients reach the silhouette vertices (a hard rasterizer has none there).
"""

from __future__ import annotations

import numpy as np
import torch

from stylemm.render.rasterize import Rasterization, _cross, pixel_centres


def edge_neighbours(faces: torch.Tensor) -> torch.Tensor:
    """(F, 3): the face across edge k = (f[k], f[k+1]) of each face, -1 on open edges."""
    f = faces.cpu().numpy()
    n_faces = len(f)
    a = f.reshape(-1)
    b = f[:, [1, 2, 0]].reshape(-1)
    key = np.minimum(a, b).astype(np.int64) * (f.max() + 1) + np.maximum(a, b)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    neighbours = np.full(3 * n_faces, -1, dtype=np.int64)
    # Consecutive equal keys after sorting are the two faces sharing an edge.
    pair = np.nonzero(sorted_key[1:] == sorted_key[:-1])[0]
    first, second = order[pair], order[pair + 1]
    neighbours[first] = second // 3
    neighbours[second] = first // 3
    return torch.as_tensor(neighbours.reshape(n_faces, 3), device=faces.device)


def antialias(color: torch.Tensor, raster: Rasterization, pixels: torch.Tensor, faces: torch.Tensor,
              neighbours: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Blend colours (B, H, W, C) across silhouette edges; differentiable w.r.t. pixels (B, N, 2).

    Inside the mesh nearly every pixel pair sees two triangles, but only pairs whose front
    triangle has a silhouette edge can blend; the others are dropped before any edge is
    measured (``antialias_reference`` measures them all; the result is the same).
    """
    facing = _front_facing(pixels, faces)  # (B, F)
    # A face can only blend across an edge that is open or whose other face turns the other way.
    turns = facing[:, neighbours.clamp(min=0)] != facing[:, :, None]
    has_silhouette = ((neighbours < 0) | turns).any(-1)  # (B, F)
    delta = torch.zeros_like(color)
    for axis in (2, 1):  # horizontal neighbours, then vertical
        p, q = _pair_slices(axis)
        pairs = _silhouette_candidates(raster, p, q, has_silhouette)
        if pairs is not None:
            index, change_p, change_q = _blend_pairs(color, raster, pixels, faces, neighbours, facing, p, q, axis == 2, pairs)
            delta[p].index_put_(index, change_p, accumulate=True)
            delta[q].index_put_(index, change_q, accumulate=True)
    return color + delta


def _pair_slices(axis: int) -> tuple[tuple, tuple]:
    """Slices of (B, H, W) selecting each pixel p and its neighbour q along ``axis``."""
    p = [slice(None)] * 3
    q = [slice(None)] * 3
    p[axis], q[axis] = slice(0, -1), slice(1, None)
    return tuple(p), tuple(q)


def _silhouette_candidates(raster: Rasterization, p, q, has_silhouette: torch.Tensor):
    """(b, y, x) in the pair grid, whether p is the front pixel, and the front triangle, of
    the pairs that see two surfaces and whose front triangle has a silhouette edge; None if none."""
    tri_p, tri_q = raster.triangle[p], raster.triangle[q]
    p_in_front = raster.depth[p] < raster.depth[q]
    front_tri = torch.where(p_in_front, tri_p, tri_q)
    b_idx, y_idx, x_idx = torch.nonzero((tri_p != tri_q) & (front_tri >= 0), as_tuple=True)
    tri = front_tri[b_idx, y_idx, x_idx]
    keep = has_silhouette[b_idx, tri]
    if not keep.any():
        return None
    return b_idx[keep], y_idx[keep], x_idx[keep], p_in_front[b_idx[keep], y_idx[keep], x_idx[keep]], tri[keep]


def _front_facing(pixels: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    a, b, c = pixels[:, faces].unbind(-2)
    # Counter-clockwise in the world is clockwise on screen (pixel y points down).
    return _cross(b - a, c - a) < 0


def _crossings(pixels, faces, neighbours, facing, b_idx, tri, inside, outside, horizontal: bool):
    """For pairs whose front triangle is ``tri`` (M,), with centres ``inside`` it and ``outside``
    (M, 2): which pairs a silhouette edge crosses that this direction of pairs handles
    (``keep``), and where along inside -> outside it crosses (``t_first``)."""
    corners = pixels[b_idx[:, None], faces[tri]]  # (M, 3, 2), with gradients
    start, end = corners, corners[:, [1, 2, 0]]
    orientation = torch.sign(_cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]))
    e_in = orientation[:, None] * _cross(end - start, inside[:, None] - start)  # >= 0 inside
    e_out = orientation[:, None] * _cross(end - start, outside[:, None] - start)
    # Where along inside -> outside each edge's line is crossed; only edges the segment leaves through.
    leaves = (e_out < 0) & (e_in >= 0)
    t = e_in / torch.where(leaves, e_in - e_out, torch.ones_like(e_in))
    t = torch.where(leaves, t, torch.full_like(t, torch.inf))
    t_first, edge = t.min(dim=1)
    # A silhouette edge is open, or its other face turns the other way than the front one.
    neighbour = neighbours[tri, edge]
    turns = facing[b_idx, neighbour.clamp(min=0)] != facing[b_idx, tri]
    silhouette = (neighbour < 0) | turns
    direction = (end - start)[torch.arange(len(edge)), edge].abs()
    steep = direction[:, 1] >= direction[:, 0]
    keep = torch.isfinite(t_first) & silhouette & (steep if horizontal else ~steep)
    return keep, t_first


def _blend_pairs(color, raster, pixels, faces, neighbours, facing, p, q, horizontal: bool, pairs):
    """Colour changes of the candidate pairs (p, q) whose silhouette crossing is found:
    ((b, y, x) in the pair grid, change at p, change at q).

    Each edge is handled by one direction of pairs only, the one most across it
    (horizontal pairs for steep edges): blending a pixel along both axes would count
    its coverage twice and make the image jump when the edge passes its centre.
    """
    b_idx, y_idx, x_idx, front_first, tri = pairs
    height, width = raster.triangle.shape[1:]
    # Pixel centres of p and q: q is one pixel further along the pair axis.
    centre_p = torch.stack([x_idx, y_idx], -1).to(pixels.dtype) + 0.5
    centre_q = centre_p + torch.tensor([1.0, 0.0] if horizontal else [0.0, 1.0], dtype=pixels.dtype, device=pixels.device)
    inside = torch.where(front_first[:, None], centre_p, centre_q)
    outside = torch.where(front_first[:, None], centre_q, centre_p)
    keep, t_first = _crossings(pixels, faces, neighbours, facing, b_idx, tri, inside, outside, horizontal)
    b_idx, y_idx, x_idx, front_first, t_first = b_idx[keep], y_idx[keep], x_idx[keep], front_first[keep], t_first[keep]
    color_p, color_q = color[p][b_idx, y_idx, x_idx], color[q][b_idx, y_idx, x_idx]
    c_in = torch.where(front_first[:, None], color_p, color_q)
    c_out = torch.where(front_first[:, None], color_q, color_p)
    # Edge in the front pixel's half: the front pixel is partly background (and vice versa).
    change_in = (c_out - c_in) * (0.5 - t_first).clamp(min=0)[:, None]
    change_out = (c_in - c_out) * (t_first - 0.5).clamp(min=0)[:, None]
    change_p = torch.where(front_first[:, None], change_in, change_out)
    change_q = torch.where(front_first[:, None], change_out, change_in)
    return (b_idx, y_idx, x_idx), change_p, change_q


# -- the reference: antialias as first written -------------------------------------------------
def antialias_reference(color: torch.Tensor, raster: Rasterization, pixels: torch.Tensor, faces: torch.Tensor,
              neighbours: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """``antialias`` as first written: every pair that sees two triangles is measured.
    Kept as the reference the fast path is tested and timed against."""
    batch, height, width = raster.triangle.shape
    facing = _front_facing(pixels, faces)  # (B, F)
    centres = pixel_centres(height, width, pixels.dtype, pixels.device)
    delta = torch.zeros_like(color)
    for axis in (2, 1):  # horizontal neighbours, then vertical
        p = [slice(None)] * 3
        q = [slice(None)] * 3
        p[axis], q[axis] = slice(0, -1), slice(1, None)
        dp, dq = _blend_pairs_reference(color, raster, pixels, faces, neighbours, facing, centres, tuple(p), tuple(q), axis == 2)
        delta[tuple(p)] += dp
        delta[tuple(q)] += dq
    return color + delta


def _blend_pairs_reference(color, raster, pixels, faces, neighbours, facing, centres, p, q, horizontal: bool):
    """Colour changes for the pixel pairs (p, q) whose silhouette crossing is found.

    Each edge is handled by one direction of pairs only, the one most across it
    (horizontal pairs for steep edges): blending a pixel along both axes would count
    its coverage twice and make the image jump when the edge passes its centre.
    """
    tri_p, tri_q = raster.triangle[p], raster.triangle[q]
    depth_p, depth_q = raster.depth[p], raster.depth[q]
    candidate = tri_p != tri_q
    p_in_front = depth_p < depth_q
    front_tri = torch.where(p_in_front, tri_p, tri_q)
    candidate &= front_tri >= 0
    b_idx, y_idx, x_idx = torch.nonzero(candidate, as_tuple=True)
    zero = torch.zeros_like(color[p])
    if len(b_idx) == 0:
        return zero, zero.clone()
    front_first = p_in_front[b_idx, y_idx, x_idx]
    tri = front_tri[b_idx, y_idx, x_idx]
    grid = centres[None]  # the batch axis, so the pair slices index (batch, y, x)
    centre_p, centre_q = grid[p][0, y_idx, x_idx], grid[q][0, y_idx, x_idx]
    inside = torch.where(front_first[:, None], centre_p, centre_q)
    outside = torch.where(front_first[:, None], centre_q, centre_p)
    keep, t_first = _crossings(pixels, faces, neighbours, facing, b_idx, tri, inside, outside, horizontal)
    b_idx, y_idx, x_idx, front_first, t_first = b_idx[keep], y_idx[keep], x_idx[keep], front_first[keep], t_first[keep]
    c_in = torch.where(front_first[:, None], color[p][b_idx, y_idx, x_idx], color[q][b_idx, y_idx, x_idx])
    c_out = torch.where(front_first[:, None], color[q][b_idx, y_idx, x_idx], color[p][b_idx, y_idx, x_idx])
    # Edge in the front pixel's half: the front pixel is partly background (and vice versa).
    change_in = (c_out - c_in) * (0.5 - t_first).clamp(min=0)[:, None]
    change_out = (c_in - c_out) * (t_first - 0.5).clamp(min=0)[:, None]
    dp, dq = zero, zero.clone()
    dp = dp.index_put((b_idx, y_idx, x_idx), torch.where(front_first[:, None], change_in, change_out), accumulate=True)
    dq = dq.index_put((b_idx, y_idx, x_idx), torch.where(front_first[:, None], change_out, change_in), accumulate=True)
    return dp, dq
