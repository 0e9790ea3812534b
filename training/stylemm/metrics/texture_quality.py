"""How good G_src's textures are, measured without any downloaded network.

- Fréchet distances (FID's formula) between generated and held-out procedural textures,
  on two embeddings: colour statistics (per-texture mean and spread of RGB) and a fixed,
  randomly initialised convolutional network (random features capture texture and layout
  statistics well enough to compare sets; the seed fixes the network). The distance
  between two independent real sets is reported beside it as the floor.
- Memorisation: each generated texture's distance to its nearest training texture,
  against the same for held-out real textures. A ratio well below 1 means copying.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import linalg
from torch import nn

from stylemm.pretrain.texture_generator import HELD_OUT_SEED, texture_pool

FEATURE_SEED = 20261125


def sample_sheet(generator, count: int = 64, seed: int = 0, columns: int = 8) -> Image.Image:
    """A contact sheet of ``count`` textures from latents drawn with ``seed``."""
    from stylemm.viz.sheets import contact_sheet

    textures = generate(generator, count, seed)
    images = [Image.fromarray(t) for t in (textures.permute(0, 2, 3, 1) * 255).round().byte().numpy()]
    return contact_sheet(images, columns)


@torch.no_grad()
def generate(generator, count: int, seed: int, batch: int = 32) -> torch.Tensor:
    """(count, 3, H, W) textures in [0, 1] from latents drawn with ``seed``."""
    latents = torch.randn(count, generator.config.z_dim, generator=torch.Generator().manual_seed(seed))
    return torch.cat([generator.texture(z) for z in latents.split(batch)])


def colour_statistics(textures: torch.Tensor) -> np.ndarray:
    """(count, 6): mean and standard deviation of each colour channel."""
    return torch.cat([textures.mean([2, 3]), textures.std([2, 3])], 1).double().numpy()


class RandomFeatures(nn.Module):
    """A fixed random convolutional embedding: four strided convs, then mean and spread."""

    def __init__(self, seed: int = FEATURE_SEED, width: int = 32):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        dims = [3, width, 2 * width, 4 * width, 4 * width]
        self.weights = [torch.randn(o, i, 4, 4, generator=generator) * (2 / (i * 16)) ** 0.5 for i, o in zip(dims[:-1], dims[1:])]

    @torch.no_grad()
    def forward(self, textures: torch.Tensor) -> np.ndarray:
        x = (textures - 0.5) * 4
        for weight in self.weights:
            x = F.leaky_relu(F.conv2d(x, weight, stride=2, padding=1), 0.2)
        return torch.cat([x.mean([2, 3]), x.std([2, 3])], 1).double().numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^1/2) between Gaussian fits."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def nearest_distances(queries: torch.Tensor, references: torch.Tensor, size: tuple[int, int] = (32, 64)) -> torch.Tensor:
    """RMS pixel distance (0..1 scale) from each query to its nearest reference, at low resolution."""
    small = lambda t: F.interpolate(t.float(), size=size, mode="area").flatten(1)  # noqa: E731
    q, r = small(queries), small(references)
    return torch.cdist(q, r).amin(1) / q.shape[1] ** 0.5


def evaluate(generator, model, train_seed: int, train_size: int, count: int = 512, cache=None) -> dict:
    """Quality report of ``generator`` against the procedural family of ``model``."""
    height = generator.config.height
    real = texture_pool(model, height, count, HELD_OUT_SEED, cache, progress_bar=False).float() / 255
    other = texture_pool(model, height, count, HELD_OUT_SEED + 1, cache, progress_bar=False).float() / 255
    train = texture_pool(model, height, train_size, train_seed, cache, progress_bar=False).float() / 255
    fake = generate(generator, count, seed=HELD_OUT_SEED)
    features = RandomFeatures()
    report = {"samples": count, "resolution": [height, 2 * height]}
    for name, embed in (("colour_fd", colour_statistics), ("random_feature_fd", features)):
        real_embedding = embed(real)
        report[name] = {
            "generated_vs_real": frechet_distance(embed(fake), real_embedding),
            "real_vs_real": frechet_distance(embed(other), real_embedding),
        }
    generated, held_out = nearest_distances(fake, train).median().item(), nearest_distances(real, train).median().item()
    report["nearest_training_texture"] = {
        "generated_median_rms": generated,
        "held_out_real_median_rms": held_out,
        "ratio": generated / held_out,
    }
    return report
