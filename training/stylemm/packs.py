"""Style packs: the unit the tools exchange, like a diffusers pipeline folder.

A pack is a folder with ``pack.json`` (format, style name, prompt, source model, its
networks and their classes, provenance) and one subfolder per network, each saved with
``save_pretrained``. The shipped packs live in ``training/stylemm/weights/<style>/``;
``realistic`` holds the source networks D_src and G_src, a stylized pack D_style and G_style.
``load_pack`` takes a shipped style's name or a path to any pack folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from stylemm.io.atomic import atomic_folder, write_json
from stylemm.nets.deformer import Deformer
from stylemm.nets.texture_generator import TextureGenerator

SHIPPED = Path(__file__).with_name("weights")
INDEX = "pack.json"
FORMAT, FORMAT_VERSION = "stylemm-pack", 1
NETWORKS = {"deformer": Deformer, "texture_generator": TextureGenerator}
SHIP_LIMIT_MB = 40  # the networks of one pack, so the package stays small


@dataclass
class StylePack:
    style: str
    source_model: str
    deformer: Deformer  # D_src, or D_style
    texture_generator: TextureGenerator  # G_src, or G_style
    prompt: str | None = None
    path: Path | None = None
    evaluation: dict = field(default_factory=dict)  # network -> how it was measured
    provenance: dict = field(default_factory=dict)  # network -> the command, options and seeds that trained it

    def save(self, folder) -> Path:
        """Write the pack to ``folder`` (replaced as a whole, atomically)."""
        folder = Path(folder)
        with atomic_folder(folder) as staging:
            for name in NETWORKS:
                getattr(self, name).save_pretrained(staging / name)
            write_json(staging / "evaluation.json", self.evaluation)
            write_json(staging / "provenance.json", self.provenance)
            write_json(staging / INDEX, self._index())
            size_mb = sum(p.stat().st_size for p in staging.rglob("*.safetensors")) / 2**20
            if size_mb > SHIP_LIMIT_MB:
                raise ValueError(f"the networks take {size_mb:.1f} MB, over the {SHIP_LIMIT_MB} MB a pack may; train smaller ones")
        self.path = folder
        return folder

    def _index(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "style": self.style,
            "prompt": self.prompt,
            "source_model": self.source_model,
            "networks": {name: {"class": type(getattr(self, name)).__name__, "folder": name} for name in NETWORKS},
            "evaluation": "evaluation.json",
            "provenance": "provenance.json",
        }


def shipped_styles() -> list[str]:
    return sorted(p.parent.name for p in SHIPPED.glob(f"*/{INDEX}"))


def find_pack(style) -> Path:
    """The folder of a shipped style's name, or of a path to a pack."""
    path = Path(style)
    if (path / INDEX).is_file():
        return path
    if (SHIPPED / str(style) / INDEX).is_file():
        return SHIPPED / str(style)
    if path.exists():
        raise FileNotFoundError(f"{path} is not a style pack: it has no {INDEX}")
    raise FileNotFoundError(f"no style '{style}': shipped styles are {shipped_styles()}; or pass the path of a pack folder")


def load_pack(style="realistic") -> StylePack:
    """A shipped style by name (``load_pack("realistic")``) or a pack folder by path."""
    folder = find_pack(style)
    index = json.loads((folder / INDEX).read_text())
    if index.get("format") != FORMAT or index.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{folder / INDEX} is not a {FORMAT} of version {FORMAT_VERSION}")
    networks = {}
    for name, cls in NETWORKS.items():
        entry = index["networks"].get(name)
        if entry is None or entry.get("class") != cls.__name__:
            raise ValueError(f"{folder / INDEX} names no {cls.__name__} as its '{name}'")
        networks[name] = cls.from_pretrained(folder / entry["folder"]).eval()
    return StylePack(
        style=index["style"],
        source_model=index["source_model"],
        prompt=index.get("prompt"),
        path=folder,
        evaluation=json.loads((folder / index["evaluation"]).read_text()),
        provenance=json.loads((folder / index["provenance"]).read_text()),
        **networks,
    )
