"""Train the texture generator G_src on the procedural skin family (StyleGAN2 recipe).

Non-saturating logistic loss, lazy R1 on real images, an exponential moving average of
the generator (the one that ships), optional differentiable augmentation. The training
set is a fixed pool of procedural textures drawn from a seed and cached in the run folder,
so that nearest-neighbour distances can show whether G copies it. Runs under Hugging Face
Accelerate and resumes bit for bit from ``<out>/checkpoint``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stylemm.io.atomic import atomic_write
from stylemm.nets.texture_generator import Discriminator, TextureGenerator, TextureGeneratorConfig
from stylemm.trainer import TrainingLoop

HELD_OUT_SEED = 123456789


@dataclass
class GanOptions:
    steps: int = 6000
    batch: int = 8
    lr: float = 0.0025
    r1_gamma: float = 1.0  # StyleGAN2-ADA's heuristic 0.0002 * H * W / batch, for 128 x 256 and 8
    r1_every: int = 16  # lazy regularisation
    ema_images: int = 10_000  # half-life of the generator average, in images
    augment: bool = False  # DiffAugment colour + translation; the procedural pool is large
    dataset_size: int = 4096
    seed: int = 0
    checkpoint_minutes: float = 5.0
    threads: int = 2


def texture_pool(model, height: int, count: int, seed: int, cache: Path | None = None, progress_bar: bool = True) -> torch.Tensor:
    """``count`` procedural textures (count, 3, height, 2 height) as uint8, cached as .npy."""
    from tqdm import tqdm

    from stylemm.textures import SkinTextures

    path = cache / f"textures-{model.name}-{height}-{count}-{seed}.npy" if cache else None
    if path and path.is_file():
        return torch.from_numpy(np.load(path))
    family, generator = SkinTextures(model, height, 2 * height), torch.Generator().manual_seed(seed)
    chunks = []
    for start in tqdm(range(0, count, 64), desc="procedural textures", unit="chunk", disable=not progress_bar):
        chunks.append((family.sample(min(64, count - start), generator) * 255).round().to(torch.uint8))
    pool = torch.cat(chunks)
    if path:
        with atomic_write(path) as f:
            np.save(f, pool.numpy())
    return pool


def to_signed(textures: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the generator's range."""
    return textures.float() / 127.5 - 1


def _mean_texture(pool: torch.Tensor) -> torch.Tensor:
    total = sum(chunk.double().sum(0) for chunk in pool.split(256))
    return to_signed(total / len(pool)).float()


class LatentStream:
    """Latents and pool indices from their own generator, checkpointed with the run."""

    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed)

    def latents(self, batch: int, dim: int) -> torch.Tensor:
        return torch.randn(batch, dim, generator=self.generator)

    def indices(self, batch: int, size: int) -> torch.Tensor:
        return torch.randint(size, (batch,), generator=self.generator)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


def augment(images: torch.Tensor) -> torch.Tensor:
    """DiffAugment (Zhao et al. 2020): brightness, saturation, contrast, translation by up
    to 1/8, all differentiable so the generator learns through them."""
    b = len(images)
    images = images + (torch.rand(b, 1, 1, 1) - 0.5)
    mean = images.mean(1, keepdim=True)
    images = (images - mean) * (torch.rand(b, 1, 1, 1) * 2) + mean
    mean = images.mean([1, 2, 3], keepdim=True)
    images = (images - mean) * (torch.rand(b, 1, 1, 1) + 0.5) + mean
    h, w = images.shape[2:]
    shift = ((torch.rand(b, 2) - 0.5) * torch.tensor([w, h]) / 4).round() * 2 / torch.tensor([w, h])
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def train_texture_generator(model, config: TextureGeneratorConfig, out, options: GanOptions, resume: bool = False,
                            stop_after: int | None = None, progress_bar: bool = True) -> TextureGenerator:  # fmt: skip
    """Train G_src on the procedural family of ``model``; writes ``out``/texture_generator at
    the end (the averaged generator). ``stop_after``: return after that many steps of this
    call, with a checkpoint written, as an interrupted run would."""
    loop = TrainingLoop(out, options.steps, "training G_src", options.seed, options.threads, options.checkpoint_minutes, progress_bar)
    pool = texture_pool(model, config.height, options.dataset_size, options.seed, cache=loop.out, progress_bar=progress_bar)
    generator, discriminator = TextureGenerator(config), Discriminator(config)
    generator.mean_texture.copy_(_mean_texture(pool))  # from the pool: the same on resume
    average = copy.deepcopy(generator).eval().requires_grad_(False)
    # Lazy R1 runs every r1_every steps, so the discriminator's Adam is slowed to match (StyleGAN2).
    lazy = options.r1_every / (options.r1_every + 1)
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=options.lr, betas=(0.0, 0.99))
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=options.lr * lazy, betas=(0.0, 0.99**lazy))
    generator, discriminator, optimizer_g, optimizer_d = loop.prepare(generator, discriminator, optimizer_g, optimizer_d)
    stream = LatentStream(options.seed)
    loop.register(stream, average)
    view = augment if options.augment else (lambda x: x)

    def step(number: int) -> dict[str, float]:
        real = to_signed(pool[stream.indices(options.batch, len(pool))])
        losses = _discriminator_step(generator, discriminator, optimizer_d, loop, stream, real, view, options, number, config.z_dim)
        losses["g"] = _generator_step(generator, discriminator, optimizer_g, loop, stream, view, options.batch, config.z_dim)
        _update_average(average, loop.unwrap(generator), options, number)
        return losses

    if loop.run(step, resume, stop_after):
        average.save_pretrained(loop.out / "texture_generator")
    return average


def _discriminator_step(generator, discriminator, optimizer, loop, stream, real, view, options, step, z_dim) -> dict:
    with torch.no_grad():
        fake = generator(stream.latents(len(real), z_dim))
    loss = F.softplus(discriminator(view(fake))).mean() + F.softplus(-discriminator(view(real))).mean()
    losses = {"d": loss.item()}
    if step % options.r1_every == 0:
        # R1: penalise the discriminator's gradient on real images (keeps it smooth there).
        real = real.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(discriminator(view(real)).sum(), real, create_graph=True)
        r1 = gradient.square().sum([1, 2, 3]).mean()
        loss = loss + options.r1_gamma / 2 * r1 * options.r1_every
        losses["r1"] = r1.item()
    optimizer.zero_grad(set_to_none=True)
    loop.backward(loss)
    optimizer.step()
    return losses


def _generator_step(generator, discriminator, optimizer, loop, stream, view, batch, z_dim) -> float:
    discriminator.requires_grad_(False)
    loss = F.softplus(-discriminator(view(generator(stream.latents(batch, z_dim))))).mean()
    optimizer.zero_grad(set_to_none=True)
    loop.backward(loss)
    optimizer.step()
    discriminator.requires_grad_(True)
    return loss.item()


@torch.no_grad()
def _update_average(average: TextureGenerator, generator: TextureGenerator, options: GanOptions, step: int) -> None:
    """EMA with a half-life of ``ema_images``, shortened early on (StyleGAN2-ADA's ramp-up)
    so that the average does not drag the random initial weights along."""
    images = min(options.ema_images, 0.05 * (step + 1) * options.batch)
    beta = 0.5 ** (options.batch / max(images, 1e-8))
    for p_average, p in zip(average.parameters(), generator.parameters()):
        p_average.copy_(p.lerp(p_average, beta))
    for b_average, b in zip(average.buffers(), generator.buffers()):
        b_average.copy_(b)

