"""Training the EAM (paper 3.2, eq. 1) on source renders: ``stylemm-stylize eam-train``.

    L = E || eps_theta(x_t, t, txt, lmk, theta, psi) - eps ||^2

with the SDXL UNet, VAE and text encoders frozen and the EAM trained (lr 1e-5). Each sample
drops exactly one of {landmarks, rotation, expression, nothing}, uniformly, so the EAM learns
to use every condition without leaning on any one. Runs in ``stylemm.trainer.TrainingLoop``
(Accelerate: one GPU or many via ``accelerate launch``, progress bar, checkpoints, ``--resume``
bit for bit); every random draw of a step comes from a generator seeded by (seed, step,
process), so a resumed run draws what the uninterrupted one would. The trained EAM is
written to ``RUN/eam`` (``--eam RUN/eam`` for EAS).

Data (``--data DIR``), either
- a pair dataset (``stylemm-stylize --out``): the ``source/`` renders; landmarks and head
  rotation are rebuilt exactly from each line's ``shape`` / ``expression`` / ``pose`` /
  ``camera`` with the source model and D_src named in its ``dataset.json``; or
- an EAM folder: ``metadata.jsonl`` lines ``{"file_name": "img/0001.png", "landmarks5":
  [[x, y] x 5] in [0, 1], "rotation": [rx, ry, rz], "expression": [E floats], "text": "..."}``
  (``text`` optional), for renders or photos with conditions from anywhere.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stylemm.io.atomic import atomic_folder
from stylemm.stylize.eam import CONDITIONS, EAMModel

CAPTION = "a photo of a person's face"  # the source renders' text; they are realistic faces
STEPS = 20_000  # the paper's
LEARNING_RATE = 1e-5  # the paper's


def sample_keep(batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, 3) bool, per sample one uniform choice of: drop the landmarks, drop the rotation,
    drop the expression, drop nothing (False = dropped)."""
    choice = torch.randint(len(CONDITIONS) + 1, (batch,), generator=generator)  # len(CONDITIONS) = keep all
    return choice[:, None] != torch.arange(len(CONDITIONS))[None]


def step_generator(seed: int, step: int, process: int = 0) -> torch.Generator:
    """The generator of one step on one process: the same after a resume."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step, process]).generate_state(1)[0]))


class EAMData:
    """Images + EAM conditions from ``--data DIR`` (see the module docstring)."""

    def __init__(self, folder, size: int = 512):
        self.folder, self.size = Path(folder), size
        metadata = self.folder / "metadata.jsonl"
        if not metadata.is_file():
            raise FileNotFoundError(f"{metadata} is missing: --data must be a pair dataset (stylemm-stylize --out) "
                                    "or an EAM folder with metadata.jsonl (see stylemm.stylize.eam_training)")  # fmt: skip
        self.records = [json.loads(line) for line in metadata.read_text().splitlines() if line.strip()]
        if not self.records:
            raise ValueError(f"{metadata} has no samples")
        if all(key in self.records[0] for key in ("landmarks5", "rotation", "expression")):
            self.files = [r["file_name"] for r in self.records]
            self.conditions = {name: torch.tensor([r[name] for r in self.records], dtype=torch.float32)
                               for name in ("landmarks5", "rotation", "expression")}  # fmt: skip
        elif "source_file" in self.records[0]:
            self.files = [r["source_file"] for r in self.records]
            self.conditions = pair_conditions(self.records, self.folder / "dataset.json")
        else:
            raise ValueError(f"{metadata}: lines need either landmarks5 + rotation + expression (an EAM folder) "
                             "or source_file + shape + expression + pose + camera (a pair dataset)")  # fmt: skip
        self.texts = [r.get("text", CAPTION) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def expression_dim(self) -> int:
        return self.conditions["expression"].shape[1]

    def image(self, index: int) -> torch.Tensor:
        from PIL import Image

        with Image.open(self.folder / self.files[index]) as image:
            image = image.convert("RGB").resize((self.size, self.size), Image.BICUBIC)
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 255

    def batch(self, indices: torch.Tensor) -> dict:
        out = {name: value[indices] for name, value in self.conditions.items()}
        out["images"] = torch.stack([self.image(int(i)) for i in indices])
        out["texts"] = [self.texts[int(i)] for i in indices]
        return out


def pair_conditions(records: list[dict], dataset_json: Path) -> dict[str, torch.Tensor]:
    """The EAM conditions of a pair dataset's source renders, rebuilt from their parameters
    with the source model and D_src (what rendered them), in batches."""
    import stylemm
    from stylemm.facemodel import load
    from stylemm.landmarks import load_embedding
    from stylemm.stylize.eam import eam_conditions
    from stylemm.stylize.faces import SourceFaces
    from stylemm.stylize.source import camera_from_records, posed_vertices

    info = json.loads(dataset_json.read_text()) if dataset_json.is_file() else {}
    model = load(info.get("source_model", "openhead"))
    deformer = stylemm.load_pack(info.get("source_pack", "realistic")).deformer
    embedding, names = load_embedding(model), list(model.expression_names)
    out = {name: [] for name in ("landmarks5", "rotation", "expression")}
    for start in range(0, len(records), 64):
        chunk = records[start : start + 64]
        expression = torch.tensor([[float(r["expression"].get(n, 0.0)) for n in names] for r in chunk])
        shape = torch.tensor([r["shape"] for r in chunk], dtype=torch.float32)
        pose = {joint: torch.tensor([r["pose"][joint] for r in chunk], dtype=torch.float32) for joint in chunk[0]["pose"]}
        with torch.no_grad():
            vertices = posed_vertices(model, deformer, shape, expression, pose)
        faces = SourceFaces(shape=shape, expression=expression, pose=pose, texture_z=None, texture=None,
                            camera=camera_from_records([r["camera"] for r in chunk]), vertices=vertices, images=None)  # fmt: skip
        for name, value in eam_conditions(model, faces, embedding).items():
            out[name].append(value)
    return {name: torch.cat(values) for name, values in out.items()}


def noise_target(scheduler, latents, noise, timesteps):
    """What the UNet predicts at these timesteps: the noise, or the velocity for v-prediction models."""
    if scheduler.config.prediction_type == "v_prediction":
        return scheduler.get_velocity(latents, noise, timesteps)
    return noise


class EAMTraining:
    """One step of eq. 1: frozen SDXL (``pipe``'s components), trainable ``eam``."""

    def __init__(self, pipe, eam, optimizer, data: EAMData, batch_size: int, seed: int = 0, accelerator=None):
        from diffusers import DDPMScheduler

        self.pipe, self.eam, self.optimizer, self.data = pipe, eam, optimizer, data
        self.batch_size, self.seed, self.accelerator = batch_size, seed, accelerator
        self.scheduler = DDPMScheduler.from_config(pipe.scheduler.config)  # the training noise schedule
        for frozen in (pipe.unet, pipe.vae, pipe.text_encoder, pipe.text_encoder_2):
            frozen.requires_grad_(False).eval()
        self.text_cache: dict[str, tuple] = {}

    @property
    def process(self) -> int:
        return self.accelerator.process_index if self.accelerator else 0

    def text(self, caption: str, device):
        if caption not in self.text_cache:  # the encoders are frozen: one encoding per caption
            embeds, _, pooled, _ = self.pipe.encode_prompt(caption, device=device, do_classifier_free_guidance=False)
            self.text_cache[caption] = (embeds[0], pooled[0])
        return self.text_cache[caption]

    def loss(self, batch: dict, keep: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        from stylemm.stylize.eas import sdxl_time_ids

        pipe, unet = self.pipe, self.pipe.unet
        device, dtype = unet.device, unet.dtype
        with torch.no_grad():
            vae = pipe.vae
            images = (2 * batch["images"] - 1).to(device, vae.dtype)
            latents = (vae.encode(images).latent_dist.sample(generator) * vae.config.scaling_factor).to(dtype)
            texts = [self.text(caption, device) for caption in batch["texts"]]
            embeds = torch.stack([t[0] for t in texts]).to(dtype)
            added = {"text_embeds": torch.stack([t[1] for t in texts]).to(dtype),
                     "time_ids": sdxl_time_ids(*batch["images"].shape[-2:], len(latents), device, dtype)}  # fmt: skip
        noise = torch.randn(latents.shape, generator=generator).to(latents)
        timesteps = torch.randint(self.scheduler.config.num_train_timesteps, (len(latents),), generator=generator).to(device)
        noisy = self.scheduler.add_noise(latents, noise, timesteps)
        down, mid = self.eam(noisy, timesteps, embeds, landmarks=batch["landmarks5"], rotation=batch["rotation"],
                             expression=batch["expression"], added_cond_kwargs=added, keep=keep.to(device),
                             return_dict=False)  # fmt: skip
        prediction = unet(noisy, timesteps, embeds, added_cond_kwargs=added, down_block_additional_residuals=down,
                          mid_block_additional_residual=mid).sample  # fmt: skip
        return F.mse_loss(prediction.float(), noise_target(self.scheduler, latents, noise, timesteps).float())

    def draw(self, step: int) -> tuple[dict, torch.Tensor, torch.Generator]:
        """The batch, dropout choices and generator of ``step`` on this process."""
        generator = step_generator(self.seed, step, self.process)
        indices = torch.randint(len(self.data), (self.batch_size,), generator=generator)
        return self.data.batch(indices), sample_keep(self.batch_size, generator), generator

    def step(self, step: int) -> dict[str, float]:
        batch, keep, generator = self.draw(step)
        backward = self.accelerator.backward if self.accelerator else torch.Tensor.backward
        autocast = self.accelerator.autocast() if self.accelerator else torch.autocast("cpu", enabled=False)
        with autocast:
            loss = self.loss(batch, keep, generator)
        backward(loss)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return {"loss": float(loss.detach())}


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``stylemm-stylize eam-train``."""
    parser.add_argument("--sdxl", required=True, type=Path, help="SDXL base model folder, diffusers layout")
    parser.add_argument("--out", required=True, type=Path, help="run folder: checkpoint/ while training, eam/ at the end")
    parser.add_argument("--data", required=True, type=Path, help="pair dataset (stylemm-stylize --out) or EAM folder")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"optimiser steps (default {STEPS}, the paper's)")
    parser.add_argument("--batch-size", type=int, default=4, help="samples per step and process (default 4)")
    parser.add_argument("--lr", type=float, default=LEARNING_RATE, help=f"learning rate (default {LEARNING_RATE})")
    parser.add_argument("--size", type=int, default=512, help="training image size in px (default 512, the paper's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=["cpu"], help="force the CPU when there is no GPU (very slow with real SDXL)")
    parser.add_argument("--checkpoint-minutes", type=float, default=10.0, help="minutes between checkpoints (default 10)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Train an EAM as ``args`` say; returns the exit status."""
    from stylemm.stylize.eas import load_sdxl
    from stylemm.trainer import TrainingLoop

    if args.device is None and not torch.cuda.is_available():
        raise SystemExit("eam-train needs a GPU (SDXL-scale training) and none was found; --device cpu forces a slow run")
    data = EAMData(args.data, args.size)  # before the weights: a wrong --data fails fast
    loop = TrainingLoop(args.out, args.steps, "training the EAM", args.seed, checkpoint_minutes=args.checkpoint_minutes)
    device = loop.accelerator.device
    frozen_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(loop.accelerator.mixed_precision, torch.float32)
    pipe = load_sdxl(args.sdxl, device, frozen_dtype)
    eam = EAMModel.from_unet(pipe.unet, expression_dim=data.expression_dim).float().train()  # trained in fp32
    optimizer = torch.optim.AdamW(eam.parameters(), lr=args.lr)
    eam, optimizer = loop.prepare(eam, optimizer)
    training = EAMTraining(pipe, eam, optimizer, data, args.batch_size, args.seed, loop.accelerator)
    finished = loop.run(training.step, resume=args.resume)
    if finished and loop.accelerator.is_main_process:
        save_atomically(loop.unwrap(eam), args.out / "eam")
        print(f"EAM written to {args.out / 'eam'} (use it with --eam {args.out / 'eam'})")
    return 0


def save_atomically(model, folder: Path) -> None:
    """``save_pretrained`` into a fresh folder beside ``folder``, then swap it in."""
    with atomic_folder(folder) as fresh:
        model.save_pretrained(fresh)
