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


SHIP_LIMIT_MB = 40  # both networks together, so the package stays small


def ship(name: str, deformer_run, texture_run, root: Path = ROOT) -> Path:
    """Copy the results of two finished runs into ``root/name``: the networks, their
    evaluations and the commands that trained them. The folder is replaced as a whole."""
    import shutil

    from stylemm.fileio import write_json

    runs = {"deformer": Path(deformer_run), "texgen": Path(texture_run)}
    files = [runs[net] / f"{net}.{suffix}" for net in runs for suffix in ("safetensors", "json")]
    needed = files + [run / f for run in runs.values() for f in ("evaluation.json", "command.json")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"cannot ship '{name}': a finished run has these files, missing: {missing}")
    size_mb = sum(p.stat().st_size for p in files) / 2**20
    if size_mb > SHIP_LIMIT_MB:
        raise ValueError(f"the networks take {size_mb:.1f} MB, over the {SHIP_LIMIT_MB} MB the package allows; train smaller ones")
    staging = root / f".{name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path in files:
        shutil.copy2(path, staging / path.name)
    write_json(staging / "evaluation.json", {net: json.loads((run / "evaluation.json").read_text()) for net, run in runs.items()})
    write_json(staging / "provenance.json", {net: json.loads((run / "command.json").read_text()) for net, run in runs.items()})
    target = root / name
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
