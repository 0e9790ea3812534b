"""The one training loop every trainer runs: Accelerate (one CPU, one GPU or many, chosen at
launch), a tqdm progress bar, a checkpoint every few minutes swapped in atomically, and a
``resume`` that continues bit for bit.

A trainer builds its networks and optimisers, hands them to ``prepare``, registers every
other piece of state that must survive a restart (samplers, step counters, EMA copies) with
``register``, and gives ``run`` one function that takes the step number and does one step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from stylemm.trainer.checkpoint import Checkpointer, Progress


class TrainingLoop:
    def __init__(self, out, steps: int, description: str, seed: int = 0, threads: int | None = None,
                 checkpoint_minutes: float = 5.0, progress_bar: bool = True):  # fmt: skip
        from accelerate import Accelerator

        if threads:
            torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.out, self.steps, self.description, self.progress_bar = Path(out), steps, description, progress_bar
        self.out.mkdir(parents=True, exist_ok=True)
        self.accelerator = Accelerator(cpu=not torch.cuda.is_available())
        self.progress = Progress()
        self.accelerator.register_for_checkpointing(self.progress)
        self.checkpointer = Checkpointer(self.accelerator, self.out / "checkpoint", checkpoint_minutes)

    @property
    def step(self) -> int:
        return self.progress.step

    def prepare(self, *objects):
        """Networks, optimisers and schedulers, placed and wrapped by Accelerate."""
        return self.accelerator.prepare(*objects)

    def register(self, *stateful) -> None:
        """Objects with state_dict / load_state_dict saved in every checkpoint."""
        self.accelerator.register_for_checkpointing(*stateful)

    def backward(self, loss: torch.Tensor) -> None:
        self.accelerator.backward(loss)

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return self.accelerator.unwrap_model(model)

    def run(self, step: Callable[[int], dict[str, float]], resume: bool = False, stop_after: int | None = None) -> bool:
        """Call ``step(step_number)`` until ``steps`` are done; its dict is shown on the bar.

        resume: continue from the checkpoint. stop_after: return after that many steps of
        this call, with a checkpoint written, as an interrupted run would. Returns whether
        the run is finished (then a final checkpoint is written too).
        """
        from tqdm import tqdm

        if resume:
            self.checkpointer.restore()
        bar = tqdm(total=self.steps, initial=self.step, desc=self.description, unit="step", disable=not self.progress_bar)
        done_here = 0
        while self.step < self.steps:
            metrics = step(self.step)
            self.progress.step += 1
            done_here += 1
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items()})
            stopping = bool(stop_after) and done_here >= stop_after
            self.checkpointer.maybe_save(force=stopping)
            if stopping:
                break
        bar.close()
        finished = self.step >= self.steps
        if finished:
            self.checkpointer.save()
        return finished
