"""Pictures for people, in 2D: contact sheets, legends and UV layouts (Pillow).

Meshes are drawn by ``stylemm.viz.gl``; this module arranges the pictures.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

BACKGROUND = (245, 245, 245)

# Named ARKit expressions for pictures and videos.
ARKIT_PRESETS = {
    "neutral": {},
    "smile": {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "cheekSquintLeft": 0.4, "cheekSquintRight": 0.4},
    "jaw_open": {"jawOpen": 0.8},
    "surprise": {"browInnerUp": 1.0, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8,
                 "eyeWideLeft": 0.8, "eyeWideRight": 0.8, "jawOpen": 0.35},
    "blink": {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
}  # fmt: skip


def framing_camera(template: np.ndarray, yaw: float, size: int):
    """A camera at ``yaw`` degrees that frames the template (the same scale for every head)."""
    from stylemm.render import orbit_camera

    centre = (template.min(0) + template.max(0)) / 2
    fov = 20.0
    distance = 1.3 * np.ptp(template, axis=0).max() / (2 * np.tan(np.radians(fov) / 2))
    return orbit_camera([float(yaw)], 5.0, distance=float(distance), target=tuple(centre), width=size, height=size, fov_y=fov)


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
