"""f_mask (paper 3.4.4) with tiny random SD and DINOv2 feature extractors, on the CPU."""

import math

import numpy as np
import pytest
import torch
from tiny_sdxl import tiny_sdxl
from transformers import Dinov2Config, Dinov2Model

from stylemm.stylize.mask_network import (CLASSES, IGNORE, DINOv2Features, FeatureStack, MaskDecoder, MaskNetwork,
                                          SDFeatures, load_extractors, mask_loss, train_mask_network)  # fmt: skip

S = 64


def cartoon_faces(count: int, seed: int):
    """Drawn faces with exact part labels: random placement, size, skin and background colours."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:S, 0:S] / S
    images, masks = [], []
    for _ in range(count):
        cx, cy, r = 0.5 + rng.uniform(-0.08, 0.08), 0.5 + rng.uniform(-0.08, 0.08), rng.uniform(0.28, 0.36)
        image, mask = np.ones((S, S, 3)) * rng.uniform(0.2, 0.9, 3), np.zeros((S, S), np.int64)
        skin = rng.uniform(0.5, 1.0, 3)

        def paint(x0, y0, ax, ay, colour, label):
            inside = ((xx - x0) / ax) ** 2 + ((yy - y0) / ay) ** 2 < 1
            image[inside], mask[inside] = colour, CLASSES.index(label)

        for side in (-1, 1):
            paint(cx + side * r, cy, 0.15 * r, 0.3 * r, 0.9 * skin, "ear")
        paint(cx, cy, 0.85 * r, r, skin, "face")
        for side in (-1, 1):
            paint(cx + side * 0.35 * r, cy - 0.25 * r, 0.17 * r, 0.1 * r, (0.1, 0.1, 0.1), "eye")
        paint(cx, cy + 0.05 * r, 0.1 * r, 0.2 * r, 0.75 * skin, "nose")
        paint(cx, cy + 0.5 * r, 0.35 * r, 0.1 * r, (0.7, 0.15, 0.2), "mouth")
        images.append(image)
        masks.append(mask)
    return torch.tensor(np.stack(images), dtype=torch.float32).permute(0, 3, 1, 2), torch.tensor(np.stack(masks))


@pytest.fixture(scope="module")
def extractor():
    """Random tiny DINOv2 (patch 4) and SDXL UNet + VAE: the real wiring, no real weights."""
    torch.manual_seed(0)
    dino = Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                    patch_size=4, image_size=S))  # fmt: skip
    pipe = tiny_sdxl()
    sd = SDFeatures(pipe.unet, pipe.vae, torch.randn(1, 77, 64), torch.randn(1, 32), resolution=S, layers=(0, 1))
    return FeatureStack([DINOv2Features(dino, resolution=S), sd])


def test_features_are_deterministic_maps_from_both_extractors(extractor):
    images, _ = cartoon_faces(2, 0)
    features = extractor(images)
    assert [tuple(f.shape) for f in features] == [(2, 32, 16, 16), (2, 64, 8, 8), (2, 32, 8, 8)]
    assert all(torch.equal(a, b) for a, b in zip(features, extractor(images)))  # fixed noise in SD's
    assert not torch.equal(features[0][0], features[0][1])


def test_the_residual_decoder_starts_as_a_linear_read_out(extractor):
    features = extractor(cartoon_faces(2, 0)[0])
    decoder = MaskDecoder([f.shape[1] for f in features], width=16, blocks=3)
    plain = MaskDecoder([f.shape[1] for f in features], width=16, blocks=0)
    plain.load_state_dict({k: v for k, v in decoder.state_dict().items() if not k.startswith("residual.")})
    with torch.no_grad():
        assert torch.equal(decoder(features, (S, S)), plain(features, (S, S)))  # zero-initialised residual blocks


def test_the_loss_is_the_mean_cross_entropy_over_labelled_pixels():
    logits = torch.zeros(1, len(CLASSES), 2, 2)
    assert mask_loss(logits, torch.zeros(1, 2, 2)).item() == pytest.approx(math.log(6))
    logits[0, 2, 0, 0] = 3.0  # the labelled pixel, class 2, confident and right
    labels = torch.full((1, 2, 2), IGNORE)
    labels[0, 0, 0] = 2
    assert mask_loss(logits, labels).item() == pytest.approx(-math.log(math.exp(3) / (math.exp(3) + 5)))


def test_few_shot_training_segments_unseen_faces(extractor, tmp_path):
    images, masks = cartoon_faces(6, 0)
    test_images, test_masks = cartoon_faces(10, 1)
    network = train_mask_network(extractor, images, masks, steps=150, width=32, blocks=2)
    predicted = network.predict(test_images)
    accuracy = (predicted == test_masks).float().mean().item()
    iou = [((predicted == c) & (test_masks == c)).sum().item() / max(((predicted == c) | (test_masks == c)).sum().item(), 1)
           for c in range(len(CLASSES))]  # fmt: skip
    # Measured: accuracy 0.89 (background alone is 0.69), IoU 0.88 / 0.69 / 0.46 / 0.33 / 0.53 / 0.39.
    assert accuracy > 0.85, (accuracy, iou)
    assert min(iou) > 0.2, iou  # every part is found, not only face and background
    network.decoder.save_pretrained(tmp_path)
    loaded = MaskNetwork(extractor, MaskDecoder.from_pretrained(tmp_path, local_files_only=True))
    assert torch.equal(loaded.predict(test_images), predicted)


def test_without_local_weights_the_error_says_what_to_provide():
    with pytest.raises(FileNotFoundError, match="Stable Diffusion folder.*DINOv2 folder"):
        load_extractors()
    with pytest.raises(ValueError, match="masks must be"):
        train_mask_network(lambda x: [x], torch.rand(2, 3, 8, 8), torch.zeros(2, 4, 4, dtype=torch.long))


@pytest.fixture(scope="module")
def dino_dir(tmp_path_factory):
    """A tiny random DINOv2 saved in the transformers layout, as a user's local folder would be."""
    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("dinov2")
    Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                             patch_size=4, image_size=S)).save_pretrained(folder)  # fmt: skip
    return folder


def test_a_saved_f_mask_loads_from_its_folder_and_the_same_feature_weights(dino_dir, tmp_path):
    images, masks = cartoon_faces(3, 0)
    extractor = FeatureStack([DINOv2Features.from_pretrained(dino_dir, resolution=S)])
    network = train_mask_network(extractor, images, masks, steps=10, width=16, blocks=1)
    network.save_pretrained(tmp_path / "f_mask")
    loaded = MaskNetwork.from_pretrained(tmp_path / "f_mask", dinov2_dir=dino_dir)
    assert loaded.extractor.extractors[0].resolution == S  # the extractor's options travel with the decoder
    assert torch.equal(loaded.predict(images), network.predict(images))
    with pytest.raises(FileNotFoundError, match="trained on dinov2 features; give --dinov2 DIR"):
        MaskNetwork.from_pretrained(tmp_path / "f_mask")
    with pytest.raises(FileNotFoundError, match="not an f_mask folder"):
        MaskNetwork.from_pretrained(tmp_path, dinov2_dir=dino_dir)


def write_labelled(folder, images, masks):
    from PIL import Image

    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for k, (image, mask) in enumerate(zip(images, masks)):
        Image.fromarray((image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(folder / "images" / f"{k}.png")
        Image.fromarray(mask.numpy().astype(np.uint8)).save(folder / "masks" / f"{k}.png")


def test_mask_train_writes_an_f_mask_that_stylize_loads(dino_dir, tmp_path, monkeypatch, capsys):
    from stylemm.cli.stylize import main
    from stylemm.stylize import mask_network

    # The real extractors run at 448 px; a tiny DINOv2 at 448 px would take minutes, so at S.
    monkeypatch.setattr(mask_network, "load_extractors", lambda sd, dino: FeatureStack([DINOv2Features.from_pretrained(dino, resolution=S)]))
    images, masks = cartoon_faces(3, 0)
    write_labelled(tmp_path, images, masks)
    args = ["mask-train", "--images", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--dinov2", str(dino_dir)]
    assert main([*args, "--out", str(tmp_path / "f_mask"), "--steps", "5"]) == 0
    loaded = MaskNetwork.from_pretrained(tmp_path / "f_mask", dinov2_dir=dino_dir)
    assert loaded.predict(images).shape == masks.shape

    bad = masks.clone()
    bad[0, 0, 0] = 9  # not a class index, not IGNORE
    write_labelled(tmp_path / "bad", images, bad)
    args = ["mask-train", "--images", str(tmp_path / "bad" / "images"), "--masks", str(tmp_path / "bad" / "masks"), "--dinov2", str(dino_dir)]
    assert main([*args, "--out", str(tmp_path / "never")]) == 2
    assert "holds [9]: class indices are 0-5" in capsys.readouterr().err and not (tmp_path / "never").exists()


def test_mask_network_is_refused_for_recipe_pairs_which_have_exact_masks(tmp_path, capsys):
    from stylemm.cli.stylize import main

    code = main(["--style", "orc", "--count", "1", "--size", "32", "--out", str(tmp_path / "x"), "--mask-network", str(tmp_path)])
    assert code == 2 and "--mask-network is for --stylizer eas" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
