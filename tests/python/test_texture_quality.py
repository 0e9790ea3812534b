"""The texture quality measures: Fréchet distance, nearest neighbours, the memorisation ratio."""

import json

import numpy as np
import pytest
import torch

from stylemm.cli.pretrain import main
from stylemm.nets.texture_generator import TextureGeneratorConfig
from stylemm.pretrain.texture_generator import texture_pool
from stylemm.metrics.texture_quality import RandomFeatures, evaluate, frechet_distance, nearest_distances


def _whitened(n=400, d=3, seed=0):
    """Samples with sample mean exactly 0 and sample covariance exactly I."""
    x = np.random.default_rng(seed).normal(size=(n, d))
    x -= x.mean(0)
    return x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T


def test_frechet_distance_matches_the_closed_form_for_scaled_gaussians():
    x = _whitened()
    # N(1, 4 I) against N(0, 9 I) in 3-D: |mu|^2 = 3, trace term 3 * (4 + 9 - 2 * 6) = 3.
    assert frechet_distance(2 * x + 1, 3 * x) == pytest.approx(6.0, rel=1e-9)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)


def test_nearest_distance_is_zero_for_members_and_the_offset_for_shifted_copies():
    references = torch.rand(10, 3, 16, 32)
    assert torch.allclose(nearest_distances(references[:4], references), torch.zeros(4), atol=1e-5)
    assert torch.allclose(nearest_distances(references[:4] + 0.1, references), torch.full((4,), 0.1), atol=1e-4)


def test_random_features_are_fixed_by_their_seed():
    textures = torch.rand(4, 3, 32, 64)
    assert np.array_equal(RandomFeatures()(textures), RandomFeatures()(textures))
    assert not np.array_equal(RandomFeatures(seed=1)(textures), RandomFeatures()(textures))


class _Copier:
    """A 'generator' that returns its training set: the memorisation ratio must expose it."""

    config = TextureGeneratorConfig(height=16, z_dim=4)

    def __init__(self, pool):
        self.pool, self.served = pool.float() / 255, 0

    def texture(self, z):
        batch = self.pool[self.served : self.served + len(z)]
        self.served += len(z)
        return batch


def test_a_generator_that_copies_its_training_set_is_caught(openhead):
    pool = texture_pool(openhead, 16, 48, seed=7, progress_bar=False)
    report = evaluate(_Copier(pool), openhead, train_seed=7, train_size=48, count=32)
    assert report["nearest_training_texture"]["ratio"] < 0.01
    assert report["colour_fd"]["real_vs_real"] > 0


def test_the_texture_command_writes_weights_samples_and_report(openhead, tmp_path, capsys):
    out = tmp_path / "run"
    tiny = ["--steps", "2", "--batch", "2", "--dataset-size", "8", "--threads", "1", "--height", "16", "--z-dim", "8",
            "--w-dim", "8", "--mapping-layers", "1", "--channel-base", "16", "--channel-max", "4", "--eval-samples", "16"]  # fmt: skip
    assert main(["texture-generator", "--out", str(out), *tiny]) == 0
    for name in ("texture_generator/model.safetensors", "texture_generator/config.json", "evaluation.json", "command.json", "samples.png"):
        assert (out / name).is_file(), name
    report = json.loads((out / "evaluation.json").read_text())
    assert report["samples"] == 16 and report["resolution"] == [16, 32]
    assert "random_feature_fd" in capsys.readouterr().out
