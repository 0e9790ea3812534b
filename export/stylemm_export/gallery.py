"""Pictures of exported styles, drawn through the runtime from bundles (what a game would get).

``gallery``: one row per bundle, the same identities in every row (the same seed draws the
same ``shape`` and ``texture_z`` in every bundle of one source model), then the first identity
making a few expressions. ``turntable``: one character turning once, as video frames.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

GALLERY_EXPRESSIONS = ("smile", "jaw_open", "surprise")
LABEL_WIDTH = 96


class BundlePainter:
    """Draws a bundle's characters with the GL preview renderer, framed alike for every style."""

    def __init__(self, size: int, yaw: float = 25.0):
        from stylemm.viz.gl import GLRenderer

        self.size, self.yaw = size, yaw
        self.gl = GLRenderer(size, size)

    def draw(self, model, character, expression=None, yaw: float | None = None) -> np.ndarray:
        from stylemm.viz.sheets import framing_camera

        camera = framing_camera(model.template, self.yaw if yaw is None else yaw, self.size)
        return self.gl.render(character.mesh(expression=expression), model.faces, camera, texture=character.texture(),
                              uvs=model.uvs, uv_faces=model.uv_faces)  # fmt: skip

    def close(self) -> None:
        self.gl.close()


def gallery(models: list, identities: int = 6, size: int = 160) -> Image.Image:
    """Rows: ``models`` (runtime Models, one per style); columns: seeds 0..identities-1 at rest,
    then seed 0 with each of GALLERY_EXPRESSIONS. A header names the columns."""
    from stylemm.viz.sheets import ARKIT_PRESETS

    if identities < 1:
        raise ValueError("a gallery needs at least one identity")
    sources = {m.bundle.manifest.get("source_model") for m in models}
    if len(sources) > 1:
        raise ValueError(f"the bundles come from different source models ({sorted(map(str, sources))}): "
                         "a seed would not be the same face in every row")  # fmt: skip
    painter = BundlePainter(size)
    header = [f"seed {i}" for i in range(identities)] + [f"seed 0: {name.replace('_', ' ')}" for name in GALLERY_EXPRESSIONS]
    rows = [_label_row(header, size)]
    for model in models:
        characters = [model.character(seed=seed) for seed in range(identities)]
        tiles = [painter.draw(model, c) for c in characters]
        tiles += [painter.draw(model, characters[0], ARKIT_PRESETS[name]) for name in GALLERY_EXPRESSIONS]
        rows.append(np.concatenate([_label(model.style or "?", size), *tiles], 1))
    painter.close()
    return Image.fromarray(np.concatenate(rows, 0))


def turntable(model, character, size: int = 256, seconds: float = 10.0, fps: int = 30):
    """Frames of ``character`` turning once around, at rest."""
    painter = BundlePainter(size)
    try:
        for yaw in np.linspace(0.0, 360.0, max(1, round(seconds * fps)), endpoint=False):
            yield painter.draw(model, character, yaw=float(yaw))
    finally:
        painter.close()


def _label(text: str, height: int, width: int = LABEL_WIDTH) -> np.ndarray:
    label = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(label).text((6, height // 2 - 6), text, fill="black")
    return np.asarray(label)


def _label_row(names: list[str], size: int) -> np.ndarray:
    cells = [_label("", 18)] + [_label(name, 18, size) for name in names]
    return np.concatenate(cells, 1)
