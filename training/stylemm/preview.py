"""A small CPU preview renderer for people (not for gradients): flat-shaded meshes via
the painter's algorithm with Pillow, and contact sheets of several renders.

The differentiable renderer and the GPU preview renderer are separate modules; this
one only needs numpy and Pillow, so it works on any machine.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SKIN = np.array([0.80, 0.66, 0.58])
BACKGROUND = (245, 245, 245)
SUPERSAMPLE = 2  # draw larger, then downscale: cheap antialiasing


def yaw_matrix(degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def render(
    vertices: np.ndarray,
    faces: np.ndarray,
    *,
    size: int = 256,
    yaw: float = 0.0,
    face_colors: np.ndarray | None = None,
    centre: np.ndarray | None = None,
    extent: float | None = None,
) -> Image.Image:
    """Orthographic flat-shaded render looking down -Z (glTF: +Z faces the viewer).

    centre/extent fix the framing (so several renders share a scale); by default the
    mesh's bounding box fills the frame.
    """
    v = np.asarray(vertices, dtype=np.float64)
    centre = (v.min(0) + v.max(0)) / 2 if centre is None else np.asarray(centre)
    v = (v - centre) @ yaw_matrix(yaw).T
    extent = np.ptp(v[:, :2], axis=0).max() * 1.1 if extent is None else extent
    tri = v[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    visible = normals[:, 2] > 0  # counter-clockwise seen from the viewer
    light = np.clip(0.25 + 0.75 * normals[:, 2], 0, 1)
    colors = np.broadcast_to(SKIN if face_colors is None else face_colors, (len(faces), 3))
    shaded = np.clip(colors * light[:, None] * 255, 0, 255).astype(np.uint8)
    px = size * SUPERSAMPLE
    xy = (tri[..., :2] / extent + 0.5) * px
    xy[..., 1] = px - xy[..., 1]  # image y grows downwards
    order = np.argsort(tri[:, :, 2].mean(1))  # far to near
    image = Image.new("RGB", (px, px), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for f in order[visible[order]]:
        draw.polygon([tuple(p) for p in xy[f]], fill=tuple(int(c) for c in shaded[f]))
    return image.resize((size, size), Image.LANCZOS)


def contact_sheet(images: list[Image.Image], columns: int, labels: list[str] | None = None) -> Image.Image:
    """Tile equally sized images in a grid, with an optional caption under each."""
    w, h = images[0].size
    caption = 14 if labels else 0
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * w, rows * (h + caption)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, image in enumerate(images):
        x, y = (i % columns) * w, (i // columns) * (h + caption)
        sheet.paste(image, (x, y))
        if labels:
            draw.text((x + 4, y + h), labels[i], fill=(40, 40, 40))
    return sheet


def uv_layout(uvs: np.ndarray, uv_faces: np.ndarray, face_colors: np.ndarray, width: int = 1024) -> Image.Image:
    """The UV layout (glTF convention, origin top-left) as filled triangles with outlines."""
    height = width // 2
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    corners = uvs[uv_faces] * np.array([width, height])
    fills = (np.asarray(face_colors) * 255).astype(np.uint8)
    for tri, fill in zip(corners, fills):
        draw.polygon([tuple(p) for p in tri], fill=tuple(int(c) for c in fill), outline=(60, 60, 60))
    return image


def part_palette(n: int) -> np.ndarray:
    """n distinct, fixed colours (for part labels)."""
    hues = np.arange(n) / n
    return np.stack([0.55 + 0.4 * np.cos(2 * np.pi * (hues + k / 3)) for k in range(3)], axis=1)


def with_legend(image: Image.Image, names: list[str], colors: np.ndarray) -> Image.Image:
    """The image with a row of colour swatches and names underneath."""
    row_h, per_row = 18, max(1, image.width // 120)
    rows = -(-len(names) // per_row)
    out = Image.new("RGB", (image.width, image.height + rows * row_h + 4), BACKGROUND)
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out)
    for i, (name, color) in enumerate(zip(names, colors)):
        x, y = (i % per_row) * 120 + 6, image.height + (i // per_row) * row_h + 4
        draw.rectangle([x, y, x + 12, y + 12], fill=tuple(int(c * 255) for c in color))
        draw.text((x + 16, y), name, fill=(40, 40, 40))
    return out
