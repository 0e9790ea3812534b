"""OpenHead's own UV layout: the head island upright on the left of a 2:1 texture,
the small islands (mouth interior, eye sockets, neck strip, eyeballs, teeth, tongue)
shelf-packed in the column on its right.

Input UVs follow OBJ (origin bottom-left); output UVs follow glTF (origin top-left).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

ASPECT = 2.0  # texture width / height
HEAD_COLUMN = 0.8  # fraction of the width given to the head island
PADDING = 4 / 512  # gap between islands, in texture widths (4 px at 512 wide)


def repack(uvs: np.ndarray, uv_faces: np.ndarray, positions: np.ndarray, faces: np.ndarray):
    """New (uvs, uv_faces) with only the used uvs, in the OpenHead layout.

    positions/faces give the 3D mesh; they orient the head island (top of head up).
    """
    used, new_faces = np.unique(uv_faces, return_inverse=True)
    new_faces = new_faces.reshape(uv_faces.shape)
    points = uvs[used].copy()
    island = _islands(new_faces, len(points))
    sizes = np.bincount(island)
    head = int(np.argmax(sizes))
    # Work in texel units where the texture is ASPECT wide and 1 high, y down.
    points[:, 1] = -points[:, 1]
    head_pts = _upright(points, new_faces, island, head, positions, faces)
    head_box = _fit(head_pts, (PADDING, PADDING), (ASPECT * HEAD_COLUMN - 2 * PADDING, 1 - 2 * PADDING))
    out = np.zeros_like(points)
    out[island == head] = head_box
    _even_density(points, new_faces, island, positions, faces, skip=head)
    others = [i for i in np.argsort(-_heights(points, island)) if i != head and sizes[i] > 0]
    _shelf_pack(points, island, others, out, x0=ASPECT * HEAD_COLUMN)
    out[:, 0] /= ASPECT
    return out, new_faces


def _even_density(points, uv_faces, island, positions, faces, skip: int) -> None:
    """Rescale each island (in place) so texels per square metre match across islands.

    MakeHuman gives the eyeballs and teeth tiny islands of their own texture; in one
    shared texture they would get a handful of texels without this.
    """
    uv_area = np.abs(_area2(points[uv_faces]))
    surface_area = np.linalg.norm(np.cross(*(positions[faces[:, 1:]] - positions[faces[:, :1]]).transpose(1, 0, 2)), axis=-1)
    face_island = island[uv_faces[:, 0]]
    for i in np.unique(face_island):
        if i == skip:
            continue
        ratio = np.sqrt(surface_area[face_island == i].sum() / max(uv_area[face_island == i].sum(), 1e-12))
        members = island == i
        points[members] = points[members].mean(0) + (points[members] - points[members].mean(0)) * ratio


def _area2(tri: np.ndarray) -> np.ndarray:
    """Twice the signed area of (..., 3, 2) triangles."""
    u, v = tri[..., 1, :] - tri[..., 0, :], tri[..., 2, :] - tri[..., 0, :]
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _islands(uv_faces: np.ndarray, n: int) -> np.ndarray:
    """Island id per uv vertex: uvs connected through shared triangles."""
    a, b, c = uv_faces.T
    graph = sp.coo_matrix((np.ones(3 * len(a)), (np.r_[a, b, c], np.r_[b, c, a])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _upright(points, uv_faces, island, head, positions, faces) -> np.ndarray:
    """The head island rotated by a multiple of 90 degrees so the top of the head is up."""
    mask = island == head
    # Height (3D y) of each uv point, from any triangle corner that uses it.
    height = np.zeros(len(points))
    height[uv_faces.reshape(-1)] = positions[faces.reshape(-1), 1]
    pts = points[mask] - points[mask].mean(0)
    best, best_score = pts, -np.inf
    for k in range(4):
        rotated = pts @ np.linalg.matrix_power(np.array([[0.0, 1.0], [-1.0, 0.0]]), k)
        # Image y grows downwards, so up means y anti-correlated with height.
        score = -np.corrcoef(rotated[:, 1], height[mask])[0, 1]
        if score > best_score:
            best, best_score = rotated, score
    return best


def _fit(pts: np.ndarray, origin, size) -> np.ndarray:
    """Scale uniformly and translate pts into the box at origin with the given size."""
    lo, hi = pts.min(0), pts.max(0)
    scale = min(size[0] / (hi[0] - lo[0]), size[1] / (hi[1] - lo[1]))
    return (pts - lo) * scale + np.asarray(origin)


def _heights(points, island) -> np.ndarray:
    n = island.max() + 1
    return np.array([np.ptp(points[island == i, 1]) if (island == i).any() else 0 for i in range(n)])


def _shelf_pack(points, island, order, out, x0: float) -> None:
    """Pack islands, tallest first, into shelves in the column [x0, ASPECT] x [0, 1].

    All small islands share one scale (their relative texel density is kept); the
    scale is the largest that fits, found by halving the search interval.
    """
    boxes = [(points[island == i].min(0), points[island == i].max(0)) for i in order]
    lo_s, hi_s = 0.0, 100.0
    for _ in range(40):
        mid = (lo_s + hi_s) / 2
        if _place(boxes, mid, x0) is None:
            hi_s = mid
        else:
            lo_s = mid
    for i, (lo, _), corner in zip(order, boxes, _place(boxes, lo_s, x0)):
        out[island == i] = (points[island == i] - lo) * lo_s + corner


def _place(boxes, scale, x0):
    """Top-left corners of each box on shelves, or None if they do not fit."""
    corners, x, y, shelf_h = [], x0 + PADDING, PADDING, 0.0
    for lo, hi in boxes:
        w, h = (hi - lo) * scale
        if x + w > ASPECT - PADDING:
            x, y, shelf_h = x0 + PADDING, y + shelf_h + PADDING, 0.0
        if x + w > ASPECT - PADDING or y + h > 1 - PADDING:
            return None
        corners.append(np.array([x, y]))
        x += w + PADDING
        shelf_h = max(shelf_h, h)
    return corners
