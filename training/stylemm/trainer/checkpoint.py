"""Checkpoints of a TrainingLoop: a step counter that Accelerate saves with the model, and
a checkpoint folder that is replaced atomically, so a kill mid-save loses nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from stylemm.io.atomic import atomic_folder


@dataclass
class Progress:
    step: int = 0

    def state_dict(self) -> dict:
        return {"step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])


class Checkpointer:
    """Saves ``accelerator``'s state to ``folder`` every ``minutes`` (and when asked);
    ``restore()`` loads it back for ``--resume``."""

    def __init__(self, accelerator, folder, minutes: float):
        self.accelerator, self.folder, self.seconds = accelerator, Path(folder), 60 * minutes
        self.last = time.monotonic()

    def restore(self) -> None:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"nothing to resume: {self.folder} does not exist")
        self.accelerator.load_state(str(self.folder))

    def maybe_save(self, force: bool = False) -> None:
        if force or time.monotonic() - self.last > self.seconds:
            self.save()

    def save(self) -> None:
        """Write the new checkpoint beside the old one, then swap the two."""
        with atomic_folder(self.folder) as fresh:
            self.accelerator.save_state(str(fresh))
        self.last = time.monotonic()
