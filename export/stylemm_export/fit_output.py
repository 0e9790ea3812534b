"""A photo fit as game assets: ``save_fit(result, DIR)`` writes ``face.glb`` (the stylized
character with its 52 morph targets and the fit's texture), ``params.json``, ``preview.png``
and ``texture.png``; DIR appears whole or not at all.

The fit (stylemm.fit) computes; this exports. The style pack is written as a bundle to a
temporary folder, the runtime makes the character of the fitted shape and texture latent
from it and bakes its morph targets, and the glTF writer writes it with the fit's texture in
place of G_style's, so the glb is the character a game gets from the style's bundle.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import stylemm_runtime
from stylemm.io.atomic import atomic_folder, atomic_write, write_json
from stylemm_export.bundle import write_bundle
from stylemm_export.gltf import write_character_glb
from stylemm_runtime import baking


class _Textured:
    """A runtime Character whose texture is the fit's (the glTF writer asks it for one)."""

    def __init__(self, character, texture: np.ndarray):
        self._character, self._texture = character, texture

    def texture(self) -> np.ndarray:
        return self._texture

    def __getattr__(self, name):
        return getattr(self._character, name)


def write_face_glb(path, result) -> None:
    """Write the fit's stylized character to ``path``."""
    pack = result.pack
    with tempfile.TemporaryDirectory(prefix="stylemm-fit-") as folder:
        bundle = write_bundle(Path(folder) / f"{pack.style}.smm", result.model, pack.deformer, pack.texture_generator,
                              style=pack.style, prompt=pack.prompt)  # fmt: skip
        runtime_model = stylemm_runtime.load(bundle)
        character = runtime_model.character(shape=result.shape, texture_z=result.texture_z)
        write_character_glb(path, runtime_model, _Textured(character, result.texture), baking.bake(runtime_model, character.shape))


def save_fit(result, out, force: bool = False) -> Path:
    """Write DIR/face.glb, params.json, preview.png, texture.png for a ``stylemm.fit.FitResult``."""
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; pass force=True (--force) to replace it")
    with atomic_folder(out) as staging:
        start = time.perf_counter()
        write_face_glb(staging / "face.glb", result)
        result.times["export"] = round(time.perf_counter() - start, 3)
        write_json(staging / "params.json", result.params())
        for name, image in (("preview.png", result.preview), ("texture.png", result.texture)):
            with atomic_write(staging / name) as f:
                Image.fromarray(image).save(f, format="PNG")
    return out
