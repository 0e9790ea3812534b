"""Rasterization on the CPU, split as nvdiffrast splits it.

``rasterize`` decides visibility (which triangle each pixel sees) without gradients:
a discrete choice has none. ``barycentrics`` then recomputes, with gradients, where
each pixel centre lies inside its triangle from the current vertex positions, so
everything interpolated from them is differentiable w.r.t. the vertices.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import NamedTuple

import torch

# Candidate (triangle, pixel) pairs are processed in chunks to bound memory.
CHUNK_PAIRS = 1 << 21


@dataclass
class Rasterization:
    triangle: torch.Tensor  # (B, H, W) int64 triangle index, -1 for background
    depth: torch.Tensor  # (B, H, W) NDC depth of the visible surface, +inf for background
    native: torch.Tensor | None = None  # a GPU backend's own raster output, for its antialiasing
    # The covered pixels as flat indices b * H * W + y * W + x in row-major order (the order
    # of mask.nonzero()), and their screen-space barycentrics where the rasterizer kept them.
    covered_index: torch.Tensor | None = None
    screen: torch.Tensor | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)  # covered pixels, their triangles and corners

    @property
    def mask(self) -> torch.Tensor:
        return self.triangle >= 0

    def covered(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(b, y, x) of the covered pixels, row-major: every per-pixel step gathers through
        these, so they are found once per raster, not once per step."""
        if "covered" not in self._cache:
            if self.covered_index is None:
                self.covered_index = torch.nonzero(self.mask.reshape(-1)).squeeze(1)
            _, height, width = self.triangle.shape
            index = self.covered_index
            self._cache["covered"] = (index // (height * width), index // width % height, index % width)
        return self._cache["covered"]

    def covered_triangles(self) -> torch.Tensor:
        """(M,) the triangle seen at each covered pixel, in ``covered()`` order."""
        if "triangles" not in self._cache:
            self.covered()
            self._cache["triangles"] = self.triangle.reshape(-1).index_select(0, self.covered_index)
        return self._cache["triangles"]

    def corner_rows(self, faces: torch.Tensor, vertices_per_image: int = 0) -> list[torch.Tensor]:
        """Three (M,) tensors: each covered pixel's triangle corner k as a row of a (B * N)
        vertex table, or of an (N) one shared by the batch when ``vertices_per_image`` is 0.
        One-dimensional on purpose: gathers of (M, 3) int64 rows are several times slower."""
        key = ("corners", faces.data_ptr(), faces.shape, vertices_per_image)
        if key not in self._cache:
            triangles = self.covered_triangles()
            rows = [faces[:, k].contiguous().index_select(0, triangles) for k in range(3)]
            if vertices_per_image:
                offset = self.covered()[0] * vertices_per_image
                rows = [r + offset for r in rows]
            self._cache[key] = rows
        return self._cache[key]


def pixel_centres(height: int, width: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """(H, W, 2) pixel-centre coordinates (x, y)."""
    ys, xs = torch.meshgrid(torch.arange(height, dtype=dtype, device=device) + 0.5,
                            torch.arange(width, dtype=dtype, device=device) + 0.5, indexing="ij")  # fmt: skip
    return torch.stack([xs, ys], dim=-1)


# Bounding-box sides (pixels) that get their own dense tile shape; triangles whose box is
# wider or taller than the last are expanded pixel by pixel instead (few at 256 px). Powers
# of two: fewer shapes (each costs a few dozen tensor operations) beat tighter tiles, and
# cells split into (triangle, row, column) by shifts and masks.
TILE_SIDES = (1, 2, 4, 8, 16, 32)
UNIT_ROUNDOFF = 2.0**-24  # float32's; float64 inputs round less, so bounds made with it hold for both


@dataclass
class _Triangles:
    """The batch's triangles, triangle t being face t % F of image t // F."""

    corners: torch.Tensor  # (T, 3, 2) pixels
    zs: torch.Tensor  # (T, 3) NDC depth
    lo: torch.Tensor  # (T, 2) first pixel of the box of pixel centres it may cover
    size: torch.Tensor  # (T, 2) that box's size, 0 when clipped or outside the image
    area: torch.Tensor  # (T,) twice the signed screen area, as screen_barycentrics computes it
    span: torch.Tensor  # (T,) the larger side of the corners' box (pixels)
    face: torch.Tensor  # (T,)
    base: torch.Tensor  # (T,) flat index of its image's first pixel

    def take(self, index: torch.Tensor) -> _Triangles:
        return _Triangles(*(getattr(self, f.name).index_select(0, index) for f in fields(self)))


class _Fragments(NamedTuple):
    """(triangle, pixel centre) pairs that passed the inside test."""

    face: torch.Tensor  # (M,)
    pixel: torch.Tensor  # (M,) flat b * H * W + y * W + x
    depth: torch.Tensor  # (M,) NDC depth at the pixel centre
    screen: torch.Tensor  # (M, 3) screen-space barycentrics


@torch.no_grad()
def rasterize(pixels: torch.Tensor, ndc_depth: torch.Tensor, faces: torch.Tensor, height: int, width: int) -> Rasterization:
    """Closest triangle per pixel centre, for the whole batch at once.

    pixels: (B, N, 2) vertex positions in pixels; ndc_depth: (B, N) z/w in [-1, 1]
    (vertices outside it are treated as clipped); faces: (F, 3).

    Every triangle is tested against the pixel centres of its bounding box. Triangles are
    grouped by box size, and each group is tested as one dense (triangles, rows, columns)
    tile with broadcast edge functions: a few dozen tensor operations per batch rather
    than a gather per (triangle, pixel) pair. The triangles facing the camera go first;
    the others are skipped where they lie wholly behind the surface drawn so far (the back
    of the head), by a bound that allows for every rounding. The arithmetic is
    ``rasterize_reference``'s, operation for operation: the result is the same bit for bit.
    """
    batch = pixels.shape[0]
    triangles = _triangles(pixels, ndc_depth, faces, height, width)
    drawn = (triangles.size > 0).all(1)
    tiled = drawn & (triangles.size <= TILE_SIDES[-1]).all(1) & (triangles.area.abs() < 2.0**60)
    facing = tiled & (triangles.area < 0)  # counter-clockwise in the world is clockwise on screen
    fragments = _tiles(triangles, facing, width) + _expanded_fragments(triangles, drawn & ~tiled, width)
    depth_out = torch.full((batch * height * width,), torch.inf, dtype=pixels.dtype, device=pixels.device)
    for part in fragments:  # min is exact and order-free: one scatter per part or one in all is the same
        depth_out.scatter_reduce_(0, part.pixel, part.depth, reduce="amin")
    others = tiled & ~facing
    others &= ~_hidden(depth_out.view(batch, height, width), triangles, others)
    for part in _tiles(triangles, others, width):
        depth_out.scatter_reduce_(0, part.pixel, part.depth, reduce="amin")
        fragments.append(part)
    face, pixel, depth, screen = (torch.cat(column) for column in zip(*fragments))
    nearest = torch.nonzero(depth <= depth_out.index_select(0, pixel)).squeeze(1)
    nearest_pixel, nearest_face = pixel.index_select(0, nearest), face.index_select(0, nearest)
    # Among equal depths take the highest index: deterministic, whatever the order.
    triangle_out = torch.full((batch * height * width,), -1, dtype=torch.long, device=pixels.device)
    triangle_out.scatter_reduce_(0, nearest_pixel, nearest_face, reduce="amax")
    # Keep the winners' barycentrics (each (triangle, pixel) pair is tested once), in row-major order.
    won = torch.nonzero(nearest_face == triangle_out.index_select(0, nearest_pixel)).squeeze(1)
    slot = torch.empty_like(triangle_out)
    slot[nearest_pixel.index_select(0, won)] = nearest.index_select(0, won)
    covered = torch.nonzero(triangle_out >= 0).squeeze(1)
    return Rasterization(triangle_out.view(batch, height, width), depth_out.view(batch, height, width),
                         covered_index=covered, screen=screen.index_select(0, slot.index_select(0, covered)))  # fmt: skip


def _triangles(pixels, ndc_depth, faces, height: int, width: int) -> _Triangles:
    batch, n_faces = pixels.shape[0], len(faces)
    corners = pixels[:, faces].reshape(-1, 3, 2)
    zs = ndc_depth[:, faces].reshape(-1, 3)
    visible, lo, size, span = _boxes(corners, zs, height, width)
    size[~visible] = 0
    size[(size == 0).any(1)] = 0
    area = _cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    image = torch.arange(batch, device=pixels.device).repeat_interleave(n_faces)
    face = torch.arange(n_faces, device=pixels.device).repeat(batch)
    return _Triangles(corners, zs, torch.where(size > 0, lo, 0).long(), size, area, span, face, image * (height * width))


def _boxes(corners: torch.Tensor, zs: torch.Tensor, height: int, width: int):
    """Which triangles lie within the depth range (T,), the box of pixel centres each may
    cover: first pixel (T, 2) as float and size (T, 2), clamped to the image, and the
    corners' span (T,), the larger side of their own box."""
    visible = ((zs > -1) & (zs < 1)).all(1)
    a, b, c = corners.unbind(1)
    low, high = torch.minimum(torch.minimum(a, b), c), torch.maximum(torch.maximum(a, b), c)  # = amin / amax(1), faster
    # Pixel centres inside each triangle's bounding box: x + 0.5 in [min, max].
    lo = torch.ceil(low - 0.5).clamp(min=0)
    hi = torch.floor(high - 0.5)
    hi[:, 0].clamp_(max=width - 1)
    hi[:, 1].clamp_(max=height - 1)
    return visible, lo, (hi - lo + 1).clamp(min=0).long(), (high - low).amax(1)


def _tile_groups(size: torch.Tensor, chosen: torch.Tensor):
    """(triangles, tile columns, tile rows) for each tile shape the ``chosen`` triangles need."""
    sides = torch.tensor(TILE_SIDES, device=size.device)
    side_x = torch.searchsorted(sides, size[:, 0].contiguous())  # the smallest tile side that holds the box
    side_y = torch.searchsorted(sides, size[:, 1].contiguous())
    shape = torch.where(chosen, side_y * len(TILE_SIDES) + side_x, -1)
    order = torch.argsort(shape, stable=True)
    shapes, counts = torch.unique_consecutive(shape[order], return_counts=True)
    for group, code in zip(torch.split(order, counts.tolist()), shapes.tolist()):
        if code >= 0:
            yield group, TILE_SIDES[code % len(TILE_SIDES)], TILE_SIDES[code // len(TILE_SIDES)]


def _tiles(triangles: _Triangles, chosen: torch.Tensor, width: int) -> list[_Fragments]:
    """The fragments of the ``chosen`` triangles, a part per tile shape. Their data are put
    in group order once, so each group reads contiguous slices."""
    groups = list(_tile_groups(triangles.size, chosen))
    if not groups:
        return []
    ordered = triangles.take(torch.cat([group for group, _, _ in groups]))
    out, start = [], 0
    for group, kx, ky in groups:
        part = _Triangles(*(getattr(ordered, f.name)[start : start + len(group)] for f in fields(ordered)))
        t, offset, screen = _tile_fragments(part, kx, ky, width)
        out.append(_Fragments(part.face.index_select(0, t), part.base.index_select(0, t) + offset, _depth(part.zs, t, screen), screen))
        start += len(group)
    return out


def _tile_fragments(triangles: _Triangles, kx: int, ky: int, width: int):
    """(triangle, y * width + x, screen barycentrics) of the pixel centres of the triangles'
    boxes that lie inside them, testing each box as a (kx, ky) tile.

    The numbers are ``screen_barycentrics``' (w_k / area, inside where all are >= 0), got
    with fewer full-tile operations. The edge function cross(b - p, c - p) is
    (b.x - p.x)(c.y - p.y) - (b.y - p.y)(c.x - p.x): its differences depend on the column
    or the row only, so they are (T, kx) and (T, ky) and only the products are full tiles.
    Multiplying the x differences by the sign s of the area makes s * w_k >= 0 the inside
    test, which equals w_k / area >= 0 (negation is exact; |area| < 2^60 keeps w / area
    from rounding to zero), and (s w_k) / (s area) is w_k / area to the bit. Columns and
    rows past the box, and zero areas, get NaN differences, which fail every test.
    """
    dtype, device = triangles.corners.dtype, triangles.corners.device
    first, size, area = triangles.lo, triangles.size, triangles.area
    columns, rows = torch.arange(kx, device=device), torch.arange(ky, device=device)
    cx = torch.where(columns < size[:, 0, None], (first[:, 0, None] + columns).to(dtype) + 0.5, torch.nan)
    cy = torch.where(rows < size[:, 1, None], (first[:, 1, None] + rows).to(dtype) + 0.5, torch.nan)
    a, b, c = triangles.corners.unbind(1)  # (T, 2) each
    sign = torch.where(area != 0, torch.sign(area), torch.nan)[:, None]
    dx = [((v[:, 0, None] - cx) * sign)[:, None, :] for v in (a, b, c)]  # (T, 1, kx): s (corner x - centre x)
    dy = [(v[:, 1, None] - cy)[:, :, None] for v in (a, b, c)]  # (T, ky, 1)
    weights, inside = [], None
    for i, j in ((1, 2), (2, 0), (0, 1)):  # w0 = cross(b - p, c - p), w1 = cross(c - p, a - p), w2 = cross(a - p, b - p)
        w = dx[i] * dy[j]
        w -= dy[i] * dx[j]
        inside = w >= 0 if inside is None else inside.logical_and_(w >= 0)
        weights.append(w.reshape(-1))
    # Flat indices: gathers through one index are far cheaper than (t, row, column) triples.
    flat = torch.nonzero(inside.reshape(-1)).squeeze(1)
    shift_x, shift = kx.bit_length() - 1, (kx * ky).bit_length() - 1  # kx, ky are powers of two
    t, cell = flat >> shift, flat & (kx * ky - 1)
    screen = torch.stack([w.index_select(0, flat) for w in weights], -1) / (area * sign[:, 0]).index_select(0, t)[:, None]
    offset = (first[:, 1].index_select(0, t) + (cell >> shift_x)) * width + first[:, 0].index_select(0, t) + (cell & (kx - 1))
    return t, offset, screen


def _depth(zs: torch.Tensor, t: torch.Tensor, screen: torch.Tensor) -> torch.Tensor:
    """z/w at the fragments: affine in screen space, so plain screen barycentrics interpolate
    it exactly. Added in (screen * zs[t]).sum(-1)'s order, with the same numbers."""
    z = [zs[:, k].index_select(0, t) for k in range(3)]
    return (screen[:, 0] * z[0] + screen[:, 1] * z[1]) + screen[:, 2] * z[2]


def _hidden(depth: torch.Tensor, triangles: _Triangles, chosen: torch.Tensor) -> torch.Tensor:
    """(T,) True for chosen triangles that cannot be seen: behind ``depth`` (B, H, W), an upper
    bound of the final depth, over their whole box.

    A fragment's depth is sum_k s_k z_k with s_k >= 0, so at least min_k z_k less the
    rounding of s (w_k and the area each err by under 8 u L^2, L the corners' span, u the
    unit roundoff: the s_k sum to 1 within 32 u L^2 / |area| + 2 u) and of the sum (8 u);
    the bound below doubles both. Past it, every fragment is strictly farther than the
    surface already there, so it can neither win a pixel nor tie.
    """
    index = torch.nonzero(chosen).squeeze(1)
    if len(index) == 0:
        return chosen
    t = triangles.take(index)
    slack = 64 * UNIT_ROUNDOFF * (t.span.double() + 1) ** 2 / t.area.double().abs() + 16 * UNIT_ROUNDOFF
    nearest_possible = t.zs.double().amin(1) - slack
    farthest_there = _window_max(depth, t)
    hidden = torch.zeros_like(chosen)
    hidden[index] = nearest_possible > farthest_there.double()
    return hidden


def _window_max(depth: torch.Tensor, triangles: _Triangles) -> torch.Tensor:
    """(T,) the largest depth in a square window from each triangle's first pixel whose side
    (a power of two) is at least its box's: a bound of the depth over the box (pixels past
    the image count as -inf; background pixels are +inf, so they never hide anything)."""
    batch, height, width = depth.shape
    pad = TILE_SIDES[-1]
    level = torch.searchsorted(torch.tensor([1, 2, 4, 8, 16, 32], device=depth.device), triangles.size.amax(1).contiguous())
    window = torch.nn.functional.pad(depth, (0, pad, 0, pad), value=-torch.inf)
    image = triangles.base // (height * width)
    flat = (image * (height + pad) + triangles.lo[:, 1]) * (width + pad) + triangles.lo[:, 0]
    out = torch.empty(len(flat), dtype=depth.dtype, device=depth.device)
    for k in range(int(level.max()) + 1):
        if k:  # windows of side 2^k from those of side 2^(k - 1): columns, then rows (in place:
            step = 1 << (k - 1)  # each maximum is made whole before it is written back)
            window[:, :, :-step] = torch.maximum(window[:, :, :-step], window[:, :, step:])
            window[:, :-step, :] = torch.maximum(window[:, :-step, :], window[:, step:, :])
        at = torch.nonzero(level == k).squeeze(1)
        out[at] = window.reshape(-1).index_select(0, flat.index_select(0, at))
    return out


def _expanded_fragments(triangles: _Triangles, chosen: torch.Tensor, width: int) -> list[_Fragments]:
    """The fragments of large (or huge-area) ``chosen`` triangles: every (triangle, pixel)
    pair listed, in chunks of CHUNK_PAIRS pairs to bound memory, with ``screen_barycentrics``."""
    group = torch.nonzero(chosen).squeeze(1)
    t_all = triangles.take(group)
    count = t_all.size[:, 0] * t_all.size[:, 1]
    out = []
    cumulative = torch.cumsum(count, 0)
    start = 0
    while start < len(group):
        base = cumulative[start - 1] if start else 0
        stop = max(int(torch.searchsorted(cumulative, base + CHUNK_PAIRS, right=True)), start + 1)
        n = count[start:stop]
        t = torch.repeat_interleave(torch.arange(start, stop, device=group.device), n)
        offsets = torch.cumsum(n, 0) - n
        local = torch.arange(int(n.sum()), device=t.device) - torch.repeat_interleave(offsets, n)
        px = t_all.lo[t, 0] + local % t_all.size[t, 0]
        py = t_all.lo[t, 1] + local // t_all.size[t, 0]
        weights = screen_barycentrics(t_all.corners[t], torch.stack([px, py], -1).to(t_all.corners.dtype) + 0.5)
        inside = (weights >= 0).all(-1)
        t, px, py, weights = t[inside], px[inside], py[inside], weights[inside]
        out.append(_Fragments(t_all.face[t], t_all.base[t] + py * width + px, _depth(t_all.zs, t, weights), weights))
        start = stop
    return out


@torch.no_grad()
def rasterize_reference(pixels: torch.Tensor, ndc_depth: torch.Tensor, faces: torch.Tensor, height: int,
                        width: int) -> Rasterization:  # fmt: skip
    """``rasterize`` as it was first written: one image at a time, every candidate (triangle,
    pixel) pair gathered. Kept as the reference the fast path is tested and timed against."""
    batch = pixels.shape[0]
    triangle = torch.full((batch, height * width), -1, dtype=torch.long, device=pixels.device)
    depth = torch.full((batch, height * width), torch.inf, dtype=pixels.dtype, device=pixels.device)
    for b in range(batch):
        _rasterize_one(pixels[b], ndc_depth[b], faces, height, width, triangle[b], depth[b])
    return Rasterization(triangle.view(batch, height, width), depth.view(batch, height, width))


def _rasterize_one(xy, z, faces, height, width, triangle_out, depth_out) -> None:
    corners = xy[faces]  # (F, 3, 2)
    zs = z[faces]
    visible, lo, size, _ = _boxes(corners, zs, height, width)
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
    Only covered pixels are computed (gathers are the expensive part on the CPU). Without
    gradients, the screen-space weights the rasterizer found are reused: the same numbers.
    """
    batch, height, width = raster.triangle.shape
    rows = raster.corner_rows(faces, pixels.shape[1])
    if raster.screen is not None and not (torch.is_grad_enabled() and pixels.requires_grad):
        screen = raster.screen.to(pixels.dtype)
    else:
        b, y, x = raster.covered()
        corners = pixels.reshape(-1, 2)[torch.stack(rows, 1)]  # (M, 3, 2)
        centre = torch.stack([x, y], -1).to(pixels.dtype) + 0.5
        screen = screen_barycentrics(corners, centre)
    # Perspective correction: interpolate attribute / w linearly, then divide by 1 / w.
    flat_w = w.reshape(-1)
    corrected = screen / torch.stack([flat_w.index_select(0, r) for r in rows], 1)
    total = (corrected[:, 0] + corrected[:, 1]) + corrected[:, 2]  # .sum(-1)'s numbers: the same order
    weights = corrected / total[:, None]
    dense = pixels.new_zeros(batch * height * width, 3).index_copy(0, raster.covered_index, weights)
    return dense.view(batch, height, width, 3)


def interpolate(attributes: torch.Tensor, faces: torch.Tensor, raster: Rasterization, weights: torch.Tensor) -> torch.Tensor:
    """Per-vertex attributes (B or 1, N, C) -> per-pixel (B, H, W, C), zero on background.

    ``faces`` indexes ``attributes``; pass uv_faces with per-corner UVs.
    """
    batch, height, width = raster.triangle.shape
    channels = attributes.shape[-1]
    rows = raster.corner_rows(faces, attributes.shape[1] if attributes.shape[0] > 1 else 0)
    table = attributes.reshape(-1, channels)
    w = weights.reshape(-1, 3).index_select(0, raster.covered_index)
    # w0 v0 + w1 v1 + w2 v2 added in this order: the numbers of (w[..., None] * values).sum(-2).
    per_pixel = w[:, 0:1] * table.index_select(0, rows[0])
    per_pixel = per_pixel + w[:, 1:2] * table.index_select(0, rows[1])
    per_pixel = per_pixel + w[:, 2:3] * table.index_select(0, rows[2])
    dense = attributes.new_zeros(batch * height * width, channels).index_copy(0, raster.covered_index, per_pixel)
    return dense.view(batch, height, width, channels)


# -- the reference: as first written ------------------------------------------------------------
def barycentrics_reference(pixels: torch.Tensor, w: torch.Tensor, faces: torch.Tensor, raster: Rasterization) -> torch.Tensor:
    """``barycentrics`` as first written (recomputes everything from the raster)."""
    b, y, x = raster.mask.nonzero(as_tuple=True)
    vertex = faces[raster.triangle[b, y, x]]  # (M, 3)
    corners = pixels[b[:, None], vertex]  # (M, 3, 2)
    centre = torch.stack([x, y], -1).to(pixels.dtype) + 0.5
    screen = screen_barycentrics(corners, centre)
    corrected = screen / w[b[:, None], vertex]
    weights = corrected / corrected.sum(-1, keepdim=True)
    dense = pixels.new_zeros(*raster.triangle.shape, 3)
    return dense.index_put((b, y, x), weights)


def interpolate_reference(attributes: torch.Tensor, faces: torch.Tensor, raster: Rasterization, weights: torch.Tensor) -> torch.Tensor:
    """``interpolate`` as first written."""
    b, y, x = raster.mask.nonzero(as_tuple=True)
    vertex = faces[raster.triangle[b, y, x]]  # (M, 3)
    source = b[:, None] if attributes.shape[0] > 1 else torch.zeros_like(vertex)
    values = attributes[source, vertex]  # (M, 3, C)
    per_pixel = (weights[b, y, x][..., None] * values).sum(-2)
    dense = attributes.new_zeros(*raster.triangle.shape, attributes.shape[-1])
    return dense.index_put((b, y, x), per_pixel)
