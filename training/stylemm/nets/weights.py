"""Network weights on disk: ``<name>.safetensors`` + ``<name>.json`` (the config), as
diffusers' save_pretrained does. Never pickles; written atomically."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from torch import nn

from stylemm.fileio import atomic_path


def save_network(module: nn.Module, directory, name: str, half: bool = True, exact: frozenset[str] = frozenset()) -> None:
    """Write ``module.state_dict()`` and ``module.config``; fp16 halves the size, except the
    tensors named in ``exact`` (geometry, say), which stay float32."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: (v.half() if half and k not in exact else v).contiguous() for k, v in module.state_dict().items()}
    with atomic_path(directory / f"{name}.safetensors") as tmp:
        save_file(tensors, str(tmp))
    with atomic_path(directory / f"{name}.json") as tmp:
        tmp.write_text(json.dumps(asdict(module.config), indent=2))


def load_network(directory, name: str, train_command: str) -> tuple[dict, dict]:
    """(config dict, float32 tensors) of a network written by save_network."""
    from safetensors.torch import load_file

    directory = Path(directory)
    config_path, weights_path = directory / f"{name}.json", directory / f"{name}.safetensors"
    if not config_path.is_file() or not weights_path.is_file():
        raise FileNotFoundError(f"{directory} has no {name}.json + {name}.safetensors; train one with {train_command}")
    tensors = {k: v.float() for k, v in load_file(str(weights_path)).items()}
    return json.loads(config_path.read_text()), tensors
