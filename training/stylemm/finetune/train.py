"""The fine-tuning run: D_src and G_src -> D_style and G_style on a pair dataset (paper 3.4).

The stages run in sequence on one TrainingLoop, whose step counter spans all of them: step
n belongs to the stage whose range holds it, and its batch is fixed by (seed, stage, epoch,
position), so a resumed run draws the same batches without storing a sampler. Networks,
optimisers and the random states are in the checkpoint (Accelerate), so ``resume``
continues bit for bit. At the end the run writes a style pack to ``<out>/pack``.

The run never reads the dataset's 3D truth (``PairDataset.truth``): it learns from the
stylized images, their landmarks and their part masks, as it must from EAS images.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stylemm.finetune.perceptual import PerceptualTerms
from stylemm.finetune.stages import MEASURED, PAPER, Balance, ImageDiscriminator, Stage, StageLosses, plan
from stylemm.io.atomic import write_json
from stylemm.trainer import TrainingLoop

PACK = "pack"


@dataclass
class FinetuneOptions:
    epochs: dict[str, int] = field(default_factory=dict)  # stage name -> epochs (default: the paper's 2 / 4 / 4)
    batch: int = 4
    size: int = 128  # training resolution (the dataset's images are resized to it)
    limit: int | None = None  # use only the first ``limit`` usable pairs
    lr: float = 5e-5  # D_style's (the paper's for both networks)
    texture_lr: float | None = None  # G_style's; None: the same as lr
    discriminator_lr: float = 2e-4
    seed: int = 0
    threads: int | None = 2
    checkpoint_minutes: float = 5.0
    cdl: bool = True
    warmup: bool = True
    texture_refine: bool = True
    measured_weights: bool = False  # eq. 4 / 8 / 10 at MEASURED instead of the paper's numbers (finetune/stages.py)
    clip: str | None = None
    dino: str | None = None
    lpips: str | None = None


class Clock:
    """Training seconds summed over every call of a resumed run (checkpointed)."""

    def __init__(self):
        self.seconds, self._start = 0.0, time.monotonic()

    def state_dict(self) -> dict:
        return {"seconds": self.elapsed()}

    def load_state_dict(self, state: dict) -> None:
        self.seconds, self._start = float(state["seconds"]), time.monotonic()

    def elapsed(self) -> float:
        now = time.monotonic()
        self.seconds, self._start = self.seconds + now - self._start, now
        return self.seconds


@dataclass
class Pairs:
    """The usable pairs of a dataset in memory at the training resolution."""

    stylized: torch.Tensor  # (N, 3, S, S)
    mask: torch.Tensor  # (N, S, S) class indices
    landmarks: torch.Tensor  # (N, 478, 2) pixels at S, NaN where none were found
    shape: torch.Tensor
    expression: torch.Tensor
    pose: torch.Tensor
    texture_z: torch.Tensor
    cameras: list[dict]  # camera records at S
    info: dict

    def __len__(self) -> int:
        return len(self.shape)

    def batch(self, indices, device: torch.device | str = "cpu") -> dict:
        from stylemm.stylize.source import camera_from_records

        indices = torch.as_tensor(indices)
        keys = ("stylized", "mask", "landmarks", "shape", "expression", "pose", "texture_z")
        out = {key: getattr(self, key)[indices].to(device) for key in keys}
        camera = camera_from_records([self.cameras[i] for i in indices.tolist()])
        camera.eye, camera.target = camera.eye.to(device), camera.target.to(device)
        out["camera"] = camera
        return out


def load_pairs(data, size: int, limit: int | None = None) -> Pairs:
    """Read the dataset's usable pairs (flagged ones left out), resized to ``size``."""
    from stylemm.stylize.dataset import PairDataset

    dataset = PairDataset(data)
    if len(dataset) == 0:
        raise ValueError(f"{data} has no usable pairs (all are flagged); make more with stylemm-stylize")
    count = len(dataset) if limit is None else min(limit, len(dataset))
    items = [dataset[i] for i in range(count)]
    native = items[0]["stylized"].shape[-1]
    scale = size / native
    stylized = F.interpolate(torch.stack([i["stylized"] for i in items]), size=(size, size), mode="area")
    mask = F.interpolate(torch.stack([i["mask"] for i in items])[:, None].float(), size=(size, size), mode="nearest")[:, 0].long()
    cameras = [{**i["camera"], "width": size, "height": size} for i in items]
    stack = lambda key: torch.stack([i[key] for i in items])  # noqa: E731
    return Pairs(stylized=stylized, mask=mask, landmarks=stack("landmarks") * scale, shape=stack("shape"),
                 expression=stack("expression"), pose=stack("pose"), texture_z=stack("texture_z"),
                 cameras=cameras, info=dataset.info)  # fmt: skip


@dataclass
class Schedule:
    """Which stage, epoch and batch each global step is."""

    stages: list[Stage]
    samples: int
    batch: int
    seed: int

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.samples // self.batch)

    def stage_steps(self) -> list[int]:
        return [s.epochs * self.steps_per_epoch for s in self.stages]

    @property
    def total(self) -> int:
        return sum(self.stage_steps())

    def locate(self, step: int) -> tuple[int, int]:
        """(stage index, step within the stage)."""
        for k, steps in enumerate(self.stage_steps()):
            if step < steps:
                return k, step
            step -= steps
        raise IndexError("step past the end of the schedule")

    def indices(self, stage: int, within: int) -> np.ndarray:
        epoch, position = divmod(within, self.steps_per_epoch)
        order = np.random.default_rng([self.seed, stage, epoch]).permutation(self.samples)
        if self.samples < self.batch:  # a tiny dataset: repeat it to fill the batch
            order = np.resize(order, self.batch)
        return order[position * self.batch : (position + 1) * self.batch]


def build_losses(model, source, pairs: Pairs, perceptual: PerceptualTerms, balance: Balance = PAPER) -> StageLosses:
    from stylemm.landmarks import load_embedding
    from stylemm.render import MeshRenderer
    from stylemm.render.shading import Shading

    renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces, model.part_labels, num_parts=len(model.part_names))
    shading = Shading.from_dict(pairs.info["recipe"]["shading"]) if "shading" in pairs.info.get("recipe", {}) else None
    return StageLosses(model, source.deformer.eval().requires_grad_(False), renderer, load_embedding(model), shading, perceptual,
                       background=float(pairs.info.get("background", 1.0)), balance=balance)  # fmt: skip


def train_style(data, out, options: FinetuneOptions, resume: bool = False, stop_after: int | None = None,
                progress_bar: bool = True, log=print, pack_checkpoint: bool = False) -> dict:  # fmt: skip
    """Fine-tune on the pairs in ``data``; checkpoints in ``out``/checkpoint, the pack in
    ``out``/pack when finished. Returns the run record (run.json).

    pack_checkpoint: train nothing; write ``out``/pack from the last checkpoint of an
    unfinished run (its record says the step it stopped at), so it can be measured."""
    from stylemm.facemodel import load
    from stylemm.packs import load_pack

    out = Path(out)
    pairs = load_pairs(data, options.size, options.limit)
    source = load_pack(pairs.info.get("source_pack", "realistic"))
    model = load(pairs.info.get("source_model", "openhead"))
    balance = MEASURED if options.measured_weights else PAPER
    stages = plan(options.epochs, options.cdl, options.warmup, options.texture_refine, balance)
    schedule = Schedule(stages, len(pairs), options.batch, options.seed)
    perceptual = PerceptualTerms.build(options.clip, options.dino, options.lpips)
    stage_losses = build_losses(model, source, pairs, perceptual, balance)
    record = run_record(data, pairs, options, schedule, perceptual)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "run.json", record)
    log(f"fine-tuning on {len(pairs)} pairs at {options.size} px, batch {options.batch}: "
        + ", ".join(f"{s.name} {n} steps" for s, n in zip(stages, schedule.stage_steps())))  # fmt: skip
    for term, how in perceptual.report().items():
        log(f"  {term}: {how}")

    loop = TrainingLoop(out, schedule.total, "fine-tuning", options.seed, options.threads, options.checkpoint_minutes, progress_bar)
    deformer = copy.deepcopy(source.deformer).train().requires_grad_(True)
    generator = copy.deepcopy(source.texture_generator).train().requires_grad_(True)
    discriminator = ImageDiscriminator(options.size)
    optimisers = {
        "deformer": torch.optim.Adam(deformer.parameters(), lr=options.lr),
        "texture_generator": torch.optim.Adam(generator.parameters(), lr=options.texture_lr or options.lr),
    }
    critic_optimiser = torch.optim.Adam(discriminator.parameters(), lr=options.discriminator_lr, betas=(0.0, 0.99))
    deformer, generator, discriminator, optimisers["deformer"], optimisers["texture_generator"], critic_optimiser = loop.prepare(
        deformer, generator, discriminator, optimisers["deformer"], optimisers["texture_generator"], critic_optimiser)  # fmt: skip
    device = loop.accelerator.device  # the networks' (a GPU under accelerate launch): data and fixed parts follow
    stage_losses.to(device)
    clock = Clock()
    loop.register(clock)
    losses_log = out / "losses.jsonl"

    def step(number: int) -> dict[str, float]:
        k, within = schedule.locate(number)
        stage = stages[k]
        batch = pairs.batch(schedule.indices(k, within), device)
        if stage.name == "texture":
            rendered = stage_losses.texture_render(deformer, generator, batch)
            critic = _discriminator_step(discriminator, critic_optimiser, batch["stylized"], rendered.detach(), loop)
            terms = stage_losses.texture(rendered, discriminator, batch)
        elif stage.name == "warmup":
            terms = stage_losses.warmup(deformer, batch)
        else:
            terms = stage_losses.joint(deformer, generator, batch, within)
        total = StageLosses.total(stage, terms)
        for name in stage.trains:
            optimisers[name].zero_grad(set_to_none=True)
        loop.backward(total)
        for name in stage.trains:
            optimisers[name].step()
        shown = {k_: float(v.detach()) for k_, v in terms.items()}
        if stage.name == "texture":
            shown["critic"] = critic
        if number % 10 == 0:
            with open(losses_log, "a") as f:
                f.write(json.dumps({"step": number, "stage": stage.name, "total": float(total.detach()), **shown}) + "\n")
        return {"stage": float(k), "total": float(total.detach())}

    if pack_checkpoint:
        loop.checkpointer.restore()
        finished = False
    else:
        finished = loop.run(step, resume, stop_after)
    record["seconds"] = round(clock.elapsed(), 1)
    record["finished"] = finished
    record["steps_done"] = loop.step
    write_json(out / "run.json", record)
    if finished or pack_checkpoint:
        save_pack(out / PACK, loop.unwrap(deformer), loop.unwrap(generator), pairs, source, record)
        log(f"wrote {out / PACK} after {record['seconds'] / 60:.1f} min of training ({loop.step} of {schedule.total} steps)")
    return record


def _discriminator_step(discriminator, optimiser, real: torch.Tensor, fake: torch.Tensor, loop) -> float:
    from stylemm.finetune.losses import discriminator_gan_loss

    loss = discriminator_gan_loss(discriminator(real), discriminator(fake))
    optimiser.zero_grad(set_to_none=True)
    loop.backward(loss)
    optimiser.step()
    return float(loss.detach())


def run_record(data, pairs: Pairs, options: FinetuneOptions, schedule: Schedule, perceptual: PerceptualTerms) -> dict:
    """What the run did: the command, options, data, stages with their weights and steps, and
    which perceptual terms ran (real networks or offline replacements)."""
    return {
        "command": " ".join(["stylemm-train", *sys.argv[1:]]) if _from_cli() else None,
        "options": asdict(options),
        "data": {"path": str(Path(data).resolve()), "pairs": len(pairs), "style": pairs.info.get("style"),
                 "seed": pairs.info.get("seed"), "count": pairs.info.get("count"), "recipe": pairs.info.get("recipe"),
                 "source_pack": pairs.info.get("source_pack"), "source_model": pairs.info.get("source_model")},  # fmt: skip
        "stages": [{"name": s.name, "description": s.description, "epochs": s.epochs, "steps": n, "weights": s.weights,
                    "trains": list(s.trains)} for s, n in zip(schedule.stages, schedule.stage_steps())],  # fmt: skip
        "balance": asdict(MEASURED if options.measured_weights else PAPER),
        "perceptual_terms": perceptual.report(),
        "reads_3d_truth": False,
    }


def _from_cli() -> bool:
    """Whether this process is stylemm-train (the script or python -m stylemm.cli.train)."""
    return Path(sys.argv[0]).name == "stylemm-train" or sys.argv[0].endswith(str(Path("stylemm", "cli", "train.py")))


def save_pack(folder: Path, deformer, generator, pairs: Pairs, source, record: dict, evaluation: dict | None = None) -> Path:
    from stylemm.packs import StylePack

    pack = StylePack(style=pairs.info.get("style") or "custom", source_model=source.source_model,
                     deformer=deformer.eval(), texture_generator=generator.eval(), prompt=pairs.info.get("prompt"),
                     evaluation=evaluation or {}, provenance={"finetune": record, "source": source.provenance})  # fmt: skip
    return pack.save(folder)
