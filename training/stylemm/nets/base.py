"""The base of every network: ``save_pretrained`` / ``from_pretrained`` as diffusers does.

A saved network is a folder with ``model.safetensors`` and ``config.json``, which records the
network's class, the version of its weight layout and its config, so that a folder is never
loaded into the wrong class or an older layout. Never pickles; written atomically.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from stylemm.io.atomic import atomic_path

WEIGHTS, CONFIG = "model.safetensors", "config.json"


class Network(nn.Module):
    """Subclasses set ``config_class`` (a dataclass), ``layout_version`` (bump it when the
    state dict's names change) and ``train_command`` (named in errors), and keep their config
    in ``self.config``. ``exact``: tensors that stay float32 when the rest is saved as fp16."""

    config_class: type
    layout_version: int = 1
    train_command: str = ""
    exact: frozenset[str] = frozenset()

    def save_pretrained(self, directory, half: bool = True) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: (v.half() if half and k not in self.exact else v).contiguous() for k, v in self.state_dict().items()}
        with atomic_path(directory / WEIGHTS) as tmp:
            save_file(tensors, str(tmp))
        record = {"class": type(self).__name__, "layout_version": self.layout_version, "config": asdict(self.config)}
        with atomic_path(directory / CONFIG) as tmp:
            tmp.write_text(json.dumps(record, indent=2))

    @classmethod
    def from_pretrained(cls, directory):
        from safetensors.torch import load_file

        directory = Path(directory)
        if not (directory / CONFIG).is_file() or not (directory / WEIGHTS).is_file():
            raise FileNotFoundError(f"{directory} has no {CONFIG} + {WEIGHTS}; train one with {cls.train_command}")
        record = json.loads((directory / CONFIG).read_text())
        if record.get("class") != cls.__name__:
            raise ValueError(f"{directory} holds a {record.get('class')}, not a {cls.__name__}")
        if record.get("layout_version") != cls.layout_version:
            raise ValueError(f"{directory} is weight layout {record.get('layout_version')} of {cls.__name__}; "
                             f"this version reads layout {cls.layout_version}")  # fmt: skip
        tensors = {k: v.float() for k, v in load_file(str(directory / WEIGHTS)).items()}
        network = cls.build(cls.config_class(**record["config"]), tensors)
        network.load_state_dict(tensors)
        return network

    @classmethod
    def build(cls, config, tensors: dict[str, torch.Tensor]):
        """A fresh network of ``config`` to load ``tensors`` into."""
        return cls(config)
