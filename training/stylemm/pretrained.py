"""The source networks trained on a source model and shipped with the package.

``training/stylemm/weights/<model>/`` holds D_src (deformer.*) and G_src (texgen.*) as
safetensors + JSON config, ``evaluation.json`` (how each was measured) and
``provenance.json`` (the commands and seeds that trained them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stylemm.nets.deformer import Deformer
from stylemm.nets.texgen import TextureGenerator

ROOT = Path(__file__).with_name("weights")


@dataclass
class SourceNetworks:
    deformer: Deformer  # D_src
    texture_generator: TextureGenerator  # G_src
    evaluation: dict  # {"deformer": distill.evaluate(...), "texgen": texture_quality.evaluate(...)}
    provenance: dict  # {"deformer": {argv, options, config}, "texgen": {...}}


def load_pretrained(name: str = "openhead") -> SourceNetworks:
    """The shipped networks of a source model, e.g. ``load_pretrained("openhead").deformer``."""
    folder = ROOT / name
    if not folder.is_dir():
        shipped = sorted(p.name for p in ROOT.iterdir() if p.is_dir()) if ROOT.is_dir() else []
        raise FileNotFoundError(f"no pretrained networks for '{name}' (shipped: {shipped}); train them with stylemm-pretrain")
    return SourceNetworks(
        deformer=Deformer.from_pretrained(folder).eval(),
        texture_generator=TextureGenerator.from_pretrained(folder).eval(),
        evaluation=json.loads((folder / "evaluation.json").read_text()),
        provenance=json.loads((folder / "provenance.json").read_text()),
    )
