"""G_src: the StyleGAN2 texture generator, its discriminator and resumable training (tiny configs)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from stylemm.nets.texture_generator import Discriminator, ModulatedConv, TextureGeneratorConfig, TextureGenerator
from stylemm.pretrain.texture_generator import GanOptions, texture_pool, train_texture_generator
from stylemm.metrics.texture_quality import colour_statistics, frechet_distance, generate

TINY = TextureGeneratorConfig(height=16, z_dim=32, w_dim=32, mapping_layers=2, channel_base=128, channel_max=16)


def _options(**changes):
    return GanOptions(**{**dict(steps=6, batch=4, dataset_size=32, threads=1, r1_every=2), **changes})


def test_textures_have_the_uv_aspect_the_range_and_vary_with_z():
    generator = TextureGenerator(TINY).eval()
    textures = generator.texture(torch.randn(3, TINY.z_dim))
    assert textures.shape == (3, 3, 16, 32)
    assert textures.min() >= 0 and textures.max() <= 1
    assert (textures[0] - textures[1]).abs().mean() > 1e-3


def test_const_noise_is_deterministic_and_full_truncation_gives_the_average_face():
    generator = TextureGenerator(TINY).eval()
    with torch.no_grad():
        for layer in generator.layers:
            layer.noise_strength.fill_(0.5)
    z = torch.randn(2, TINY.z_dim)
    assert torch.equal(generator(z, noise="const"), generator(z, noise="const"))
    assert not torch.equal(generator(z, noise="random"), generator(z, noise="random"))
    average = generator(z, truncation=0.0, noise="const")
    assert torch.allclose(average[0], average[1])


def test_modulated_conv_matches_a_per_sample_modulated_weight():
    """The unfused form (scale activations) equals StyleGAN2's definition (scale the weight)."""
    conv = ModulatedConv(cin=5, cout=4, kernel=3, w_dim=6)
    x, w = torch.randn(2, 5, 7, 9), torch.randn(2, 6)
    style = conv.affine(w)
    for b in range(2):
        weight = conv.weight * conv.scale * style[b][None, :, None, None]
        weight = weight / weight.square().sum([1, 2, 3], keepdim=True).add(1e-8).sqrt()
        expected = F.conv2d(x[b : b + 1], weight, padding=1)
        assert torch.allclose(conv(x[b : b + 1], w[b : b + 1]), expected, atol=1e-5)


def test_minibatch_std_lets_the_discriminator_see_a_collapsed_batch():
    discriminator = Discriminator(TINY).eval()
    image = torch.randn(1, 3, 16, 32)
    collapsed, varied = image.expand(4, -1, -1, -1), torch.cat([image, torch.randn(3, 3, 16, 32)])
    features = discriminator.blocks(discriminator.from_rgb(collapsed))
    assert discriminator._batch_std(features).abs().max() < 1e-3
    assert discriminator._batch_std(discriminator.blocks(discriminator.from_rgb(varied))).min() > 1e-3
    assert discriminator(varied).shape == (4,)


def test_bad_latents_are_refused_with_the_expected_form():
    generator = TextureGenerator(TINY)
    with pytest.raises(ValueError, match=r"z must be a tensor of shape \(batch, 32\)"):
        generator(torch.randn(2, 7))
    with pytest.raises(ValueError, match="NaN or Inf"):
        generator(torch.full((1, 32), float("nan")))
    with pytest.raises(ValueError, match="height must be a power of two"):
        TextureGeneratorConfig(height=48)


def test_training_moves_the_colours_towards_the_data(openhead, tmp_path):
    real = texture_pool(openhead, 16, 64, seed=1, progress_bar=False).float() / 255
    untrained = train_texture_generator(openhead, TINY, tmp_path / "a", _options(steps=0, dataset_size=64), progress_bar=False)
    assert untrained.mean_texture.abs().sum() > 0  # starts from the family's mean texture
    before = frechet_distance(colour_statistics(generate(untrained, 64, seed=0)), colour_statistics(real))
    trained = train_texture_generator(openhead, TINY, tmp_path, _options(steps=80, dataset_size=64, lr=0.005), progress_bar=False)
    after = frechet_distance(colour_statistics(generate(trained, 64, seed=0)), colour_statistics(real))
    assert after < 0.5 * before
    assert (tmp_path / "texture_generator" / "model.safetensors").is_file() and (tmp_path / "texture_generator" / "config.json").is_file()


def test_kill_and_resume_gives_the_same_weights(openhead, tmp_path):
    straight = train_texture_generator(openhead, TINY, tmp_path / "a", _options(augment=True), progress_bar=False)
    train_texture_generator(openhead, TINY, tmp_path / "b", _options(augment=True), stop_after=3, progress_bar=False)
    assert not (tmp_path / "b" / "texture_generator").exists()  # interrupted: no final weights
    resumed = train_texture_generator(openhead, TINY, tmp_path / "b", _options(augment=True), resume=True, progress_bar=False)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_save_and_load_round_trip(tmp_path):
    generator = TextureGenerator(TINY).eval()
    generator.save_pretrained(tmp_path)
    loaded = TextureGenerator.from_pretrained(tmp_path).eval()
    z = torch.randn(2, TINY.z_dim)
    assert torch.allclose(loaded.texture(z), generator.texture(z), atol=1e-2)  # fp16 weights
    with pytest.raises(FileNotFoundError, match="stylemm-pretrain texture"):
        TextureGenerator.from_pretrained(tmp_path / "missing")


def test_the_generator_exports_to_onnx_with_a_free_batch(tmp_path):
    import onnxruntime

    from stylemm_export.onnx_export import export_texture_generator

    generator = TextureGenerator(TINY).eval()
    session = onnxruntime.InferenceSession(str(export_texture_generator(generator, tmp_path / "texture_generator.onnx")),
                                           providers=["CPUExecutionProvider"])  # fmt: skip
    z = torch.randn(5, TINY.z_dim)
    (exported,) = session.run(None, {"z": z.numpy(), "truncation": np.ones(1, np.float32)})
    np.testing.assert_allclose(exported, generator.texture(z, noise="const").detach().numpy(), atol=1e-5)
