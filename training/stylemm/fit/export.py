"""``face.glb``: the fitted character of a style, with its 52 morph targets and its texture.

This is a command's export step, so it imports the export package (the one place in the
fit that does; the rest of training never imports it): the style pack is written as a
bundle to a temporary folder, the runtime makes the character of the fitted shape and
texture latent from it and bakes its morph targets, and stylemm_export's glTF writer
writes it with the fit's texture in place of G_style's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import stylemm_runtime
from stylemm_runtime import baking


class _Textured:
    """A runtime Character whose texture is the fit's (the glTF writer asks it for one)."""

    def __init__(self, character, texture: np.ndarray):
        self._character, self._texture = character, texture

    def texture(self) -> np.ndarray:
        return self._texture

    def __getattr__(self, name):
        return getattr(self._character, name)


def write_face_glb(path, model, pack, shape: np.ndarray, texture_z: np.ndarray, texture: np.ndarray) -> dict:
    """Write the character to ``path`` (atomically); returns the bake's error against the network."""
    from stylemm_export.bundle import write_bundle  # a command that exports may import the export package
    from stylemm_export.gltf import write_character_glb

    with tempfile.TemporaryDirectory(prefix="stylemm-fit-") as folder:
        bundle = write_bundle(Path(folder) / f"{pack.style}.smm", model, pack.deformer, pack.texture_generator,
                              style=pack.style, prompt=pack.prompt)  # fmt: skip
        runtime_model = stylemm_runtime.load(bundle)
        character = runtime_model.character(shape=shape, texture_z=texture_z)
        morphs = baking.bake(runtime_model, character.shape)
        error = baking.measure(runtime_model, character.shape, morphs)
        write_character_glb(path, runtime_model, _Textured(character, texture), morphs)
    return error
