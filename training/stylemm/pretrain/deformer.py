"""Distil a linear source model (OpenHead, FLAME) into the deformation network D_src.

Training runs under Hugging Face Accelerate (one process here; several GPUs or nodes by
launch configuration), checkpoints every few minutes into ``<out>/checkpoint`` and
resumes from it bit for bit: the parameter stream and the step count are checkpointed
with the model and optimizer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stylemm.nets.deformer import Deformer, DeformerConfig
from stylemm.trainer import TrainingLoop
from stylemm_runtime.baking import sample_expressions

HELD_OUT_SEED = 987654321


class ParameterStream:
    """Random (shape, expression) pairs the way LeGO samples them, from its own generator.

    Shapes ~ N(0, s^2) with s drawn per sample up to 1.25 (the identity space is
    standardised, so s = 1 are ordinary people); expressions by the runtime's rule
    (stylemm_runtime.baking.sample_expressions), which its bakes are fitted with too.
    """

    def __init__(self, model, seed: int):
        self.shape_dim, self.expression_names = model.shape_dim, list(model.expression_names)
        self.bounded = model.expression_range is not None
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape = self.rng.standard_normal((batch, self.shape_dim)) * (1.25 * self.rng.random((batch, 1)))
        expression = sample_expressions(self.expression_names, batch, self.rng, self.bounded)
        return torch.from_numpy(shape.astype(np.float32)), torch.from_numpy(expression)

    def state_dict(self) -> dict:
        # JSON text rather than numpy objects, so the checkpoint holds plain data only.
        return {"generator": json.dumps(self.rng.bit_generator.state)}

    def load_state_dict(self, state: dict) -> None:
        saved = state.get("generator")
        if not isinstance(saved, str):  # a torch generator state, from before the stream drew with numpy
            raise ValueError("the checkpoint's parameter stream comes from an older stylemm; "
                             "start the run again without --resume")  # fmt: skip
        try:
            self.rng.bit_generator.state = json.loads(saved)
        except (ValueError, TypeError, KeyError) as e:
            raise ValueError(f"the checkpoint's parameter stream state is malformed ({type(e).__name__}: {e})") from None


@dataclass
class TrainOptions:
    steps: int = 200_000
    batch: int = 16
    vertices_per_step: int = 2048  # per-vertex network: a random subset per step suffices
    lr: float = 1e-4
    seed: int = 0
    checkpoint_minutes: float = 5.0
    threads: int = 2


def train_deformer(model, config: DeformerConfig, out, options: TrainOptions, resume: bool = False,
                   stop_after: int | None = None, progress_bar: bool = True) -> Deformer:  # fmt: skip
    """Train D_src to reproduce ``model`` (zero pose); writes ``out``/deformer at the end.

    stop_after: return after that many steps of this call (a checkpoint is written), as an
    interrupted run would; ``resume=True`` continues from the checkpoint.
    """
    loop = TrainingLoop(out, options.steps, "distilling D_src", options.seed, options.threads, options.checkpoint_minutes, progress_bar)
    deformer = Deformer(config, model.template)
    optimizer = torch.optim.Adam(deformer.parameters(), lr=options.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, options.steps, eta_min=options.lr / 20)
    deformer, optimizer, scheduler = loop.prepare(deformer, optimizer, scheduler)
    stream = ParameterStream(model, options.seed)
    loop.register(stream)
    vertex_generator = torch.Generator()  # reseeded from the step: resumable without storing it

    def step(number: int) -> dict[str, float]:
        shape, expression = stream.sample(options.batch)
        vertex_generator.manual_seed(options.seed + 1 + number)
        vertices = torch.randperm(model.num_vertices, generator=vertex_generator)[: options.vertices_per_step]
        with torch.no_grad():
            target = model(shape=shape, expression=expression)[:, vertices]
        loss = (deformer(shape, expression, vertices) - target).square().mean()
        optimizer.zero_grad()
        loop.backward(loss)
        optimizer.step()
        scheduler.step()
        return {"rmse_mm": loss.item() ** 0.5 * 1000}

    finished = loop.run(step, resume, stop_after)
    deformer = loop.unwrap(deformer)
    if finished:
        deformer.save_pretrained(Path(out) / "deformer")
    return deformer


@torch.no_grad()
def evaluate(deformer: Deformer, model, count: int = 1000, seed: int = HELD_OUT_SEED, batch: int = 50) -> dict:
    """Vertex error of D against the source model on held-out samples, in millimetres."""
    stream = ParameterStream(model, seed)
    errors = []
    for start in range(0, count, batch):
        shape, expression = stream.sample(min(batch, count - start))
        errors.append((deformer(shape, expression) - model(shape=shape, expression=expression)).norm(dim=-1).flatten())
    mm = torch.cat(errors) * 1000
    return {"samples": count, "mean_mm": mm.mean().item(), "p99_mm": mm.quantile(0.99).item(), "max_mm": mm.max().item()}

