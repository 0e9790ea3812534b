"""The EAM (paper 3.2) on a tiny random SDXL-shaped UNet, and its training (eq. 1), on the CPU."""

import argparse
import json

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_sdxl import IMAGE_SIZE, TINY_EAM, tiny_sdxl

from stylemm.stylize.eam import CONDITIONS, MEDIAPIPE_FIVE, AdaLNZero, EAMModel, five_landmarks
from stylemm.stylize.eam_training import EAMData, EAMTraining, configure_parser, run, sample_keep, step_generator

EXPRESSION_DIM = 7
B = 2


@pytest.fixture(scope="module")
def pipe():
    return tiny_sdxl()


def fresh_eam(pipe):
    return EAMModel.from_unet(pipe.unet, expression_dim=EXPRESSION_DIM, **TINY_EAM)


def perturbed(eam, seed=1):
    """Every weight moved off its initialisation, zeros included, so paths that start at zero carry signal."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in eam.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return eam


def unet_inputs(batch=B):
    g = torch.Generator().manual_seed(0)
    return {
        "sample": torch.randn(batch, 4, IMAGE_SIZE // 8, IMAGE_SIZE // 8, generator=g),
        "timestep": 500,
        "encoder_hidden_states": torch.randn(batch, 77, 64, generator=g),
        "added_cond_kwargs": {"text_embeds": torch.randn(batch, 32, generator=g),
                              "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]] * batch)},
    }  # fmt: skip


def conditions(batch=B, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"landmarks": torch.rand(batch, 5, 2, generator=g), "rotation": 0.3 * torch.randn(batch, 3, generator=g),
            "expression": torch.rand(batch, EXPRESSION_DIM, generator=g)}  # fmt: skip


def residuals(eam, **extra):
    x = unet_inputs()
    return eam(x["sample"], x["timestep"], x["encoder_hidden_states"], added_cond_kwargs=x["added_cond_kwargs"],
               return_dict=False, **{**conditions(), **extra})  # fmt: skip


def test_a_fresh_eam_leaves_the_unet_output_unchanged(pipe):
    eam = fresh_eam(pipe)
    x = unet_inputs()
    down, mid = residuals(eam)
    with torch.no_grad():
        plain = pipe.unet(**x).sample
        controlled = pipe.unet(**x, down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
    assert torch.equal(plain, controlled)
    # Not only ControlNet's own zero convs: the attribute embedding's zero conv and its
    # zero-initialised adaptive norms are zero / the identity by themselves.
    inputs, keep = eam.condition_inputs(B, *conditions().values(), None, "cpu", torch.float32)
    assert torch.equal(eam.attributes(inputs, keep, (8, 8)), torch.zeros(B, 32, 8, 8))
    norm, h = AdaLNZero(16, 16), torch.randn(B, 16, 4, 4)
    assert torch.equal(norm(h, torch.randn(B, 16)), h)


def test_the_encoder_is_a_copy_of_the_unet(pipe):
    eam = fresh_eam(pipe)
    unet_state = pipe.unet.state_dict()
    for name, value in eam.encoder.state_dict().items():
        if name.split(".")[0] in ("conv_in", "time_embedding", "add_embedding", "down_blocks", "mid_block"):
            assert torch.equal(value, unet_state[name]), name


def test_each_condition_drives_its_own_adaptive_norm(pipe):
    """The public code fed the expression through the pose layer; here stage norm i reads condition i."""
    eam = perturbed(fresh_eam(pipe))
    seen = {}
    for s, stage in enumerate(eam.attributes.stages):
        for i, norm in enumerate(stage.norms):
            norm.register_forward_hook(lambda _m, args, _o, key=(s, i): seen.__setitem__(key, args[1]))
    inputs, keep = eam.condition_inputs(B, *conditions().values(), None, "cpu", torch.float32)
    with torch.no_grad():
        eam.attributes(inputs, keep, (8, 8))
        features = [encoder(x) for encoder, x in zip(eam.attributes.encoders, inputs)]
    assert len(seen) == len(eam.attributes.stages) * len(CONDITIONS)
    for (_, i), cond in seen.items():
        assert torch.equal(cond, features[i])


@pytest.mark.parametrize("index", range(len(CONDITIONS)))
def test_a_dropped_condition_does_not_reach_the_output(pipe, index):
    eam = perturbed(fresh_eam(pipe))
    name = CONDITIONS[index]
    other = {name: conditions(seed=5)[name]}
    keep = torch.ones(B, 3, dtype=torch.bool)
    with torch.no_grad():
        changed = (residuals(eam)[1] - residuals(eam, **other)[1]).abs().max()
        keep[:, index] = False
        dropped = (residuals(eam, keep=keep)[1] - residuals(eam, keep=keep, **other)[1]).abs().max()
        as_none = residuals(eam, **{name: None})[1]
    assert changed > 1e-4  # the condition matters when kept
    assert dropped == 0  # and not at all when dropped
    assert torch.equal(as_none, residuals(eam, keep=keep)[1])  # None drops it for the whole batch


def test_dropped_conditions_read_the_learned_null_embedding(pipe):
    eam = perturbed(fresh_eam(pipe))
    keep = torch.tensor([[False, True, True], [True, True, True]])
    residuals(eam, keep=keep)[1].square().sum().backward()
    grad = eam.attributes.null.grad
    assert grad[0].abs().sum() > 0 and grad[1:].abs().sum() == 0  # only the landmarks were dropped


def test_wrong_condition_shapes_are_named(pipe):
    eam = fresh_eam(pipe)
    with pytest.raises(ValueError, match=r"landmarks.*\(2, 5, 2\)"):
        residuals(eam, landmarks=torch.rand(B, 7, 2))
    with pytest.raises(ValueError, match=r"expression"):
        residuals(eam, expression=torch.rand(B, EXPRESSION_DIM + 1))


def test_save_and_load_round_trip(pipe, tmp_path):
    eam = perturbed(fresh_eam(pipe))
    eam.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "diffusion_pytorch_model.safetensors"}
    loaded = EAMModel.from_pretrained(tmp_path, local_files_only=True)
    assert loaded.config.expression_dim == EXPRESSION_DIM
    assert list(loaded.config.embedding_channels) == list(TINY_EAM["embedding_channels"])
    with torch.no_grad():
        for a, b in zip(residuals(eam)[0], residuals(loaded)[0]):
            assert torch.equal(a, b)


def test_five_landmarks_are_the_eye_centres_nose_tip_and_mouth_corners():
    points = torch.arange(478 * 2, dtype=torch.float32).reshape(1, 478, 2)
    five = five_landmarks(points)
    assert torch.equal(five[0, 0], (points[0, 33] + points[0, 133]) / 2)
    assert torch.equal(five[0, 1], (points[0, 362] + points[0, 263]) / 2)
    assert [torch.equal(five[0, k], points[0, MEDIAPIPE_FIVE[k][0]]) for k in (2, 3, 4)] == [True] * 3


def test_dropout_picks_one_of_four_choices_uniformly():
    keep = sample_keep(40_000, torch.Generator().manual_seed(0))
    dropped = (~keep).sum(1)
    assert dropped.max() == 1  # never more than one condition dropped
    shares = [(~keep[:, i]).float().mean().item() for i in range(3)] + [(dropped == 0).float().mean().item()]
    assert np.allclose(shares, 0.25, atol=0.01), shares  # 3 sigma is 0.0065


def write_eam_folder(folder, count=4, seed=0):
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        lines.append(json.dumps({"file_name": f"{i}.png", "landmarks5": rng.random((5, 2)).tolist(),
                                 "rotation": rng.normal(size=3).tolist(), "expression": rng.random(EXPRESSION_DIM).tolist()}))  # fmt: skip
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_training_steps_lower_the_loss(pipe, tmp_path):
    data = EAMData(write_eam_folder(tmp_path), IMAGE_SIZE)
    assert len(data) == 4 and data.expression_dim == EXPRESSION_DIM
    eam = fresh_eam(pipe).train()
    training = EAMTraining(pipe, eam, torch.optim.AdamW(eam.parameters(), lr=1e-3), data, batch_size=4)
    frozen = {k: v.clone() for k, v in pipe.unet.state_dict().items()}

    def held_out_loss():  # one fixed batch, noise and timesteps
        batch, keep, _ = training.draw(0)
        with torch.no_grad():
            return float(training.loss(batch, keep, step_generator(99, 0)))

    before = held_out_loss()
    for step in range(15):
        training.step(step)
    after = held_out_loss()
    assert after < 0.95 * before, (before, after)
    assert all(torch.equal(v, frozen[k]) for k, v in pipe.unet.state_dict().items())  # SDXL stays frozen


def test_eam_train_command_runs_and_resumes_bit_for_bit(pipe, tmp_path, monkeypatch):
    import stylemm.stylize.eam_training as eam_training

    pipe.save_pretrained(tmp_path / "sdxl")
    (tmp_path / "data").mkdir()
    data = write_eam_folder(tmp_path / "data")
    # The default EAM is SDXL-sized; the tiny UNet gets the tiny attribute embedding.
    original = EAMModel.from_unet.__func__
    monkeypatch.setattr(EAMModel, "from_unet", classmethod(lambda cls, unet, **kw: original(cls, unet, **{**TINY_EAM, **kw})))
    monkeypatch.setattr(eam_training.torch.cuda, "is_available", lambda: False)
    parse = configure_parser(argparse.ArgumentParser()).parse_args
    common = ["--sdxl", str(tmp_path / "sdxl"), "--data", str(data), "--size", str(IMAGE_SIZE), "--batch-size", "2",
              "--device", "cpu", "--lr", "1e-3"]  # fmt: skip
    assert run(parse([*common, "--out", str(tmp_path / "whole"), "--steps", "4"])) == 0
    assert run(parse([*common, "--out", str(tmp_path / "split"), "--steps", "2"])) == 0
    assert run(parse([*common, "--out", str(tmp_path / "split"), "--steps", "4", "--resume"])) == 0
    whole = EAMModel.from_pretrained(tmp_path / "whole" / "eam").state_dict()
    split = EAMModel.from_pretrained(tmp_path / "split" / "eam").state_dict()
    assert all(torch.equal(whole[k], split[k]) for k in whole)
    assert not all(torch.equal(whole[k], v) for k, v in fresh_eam(pipe).state_dict().items())  # it did train


def test_eam_train_needs_a_gpu_or_device_cpu(tmp_path, monkeypatch):
    import stylemm.stylize.eam_training as eam_training

    monkeypatch.setattr(eam_training.torch.cuda, "is_available", lambda: False)
    args = configure_parser(argparse.ArgumentParser()).parse_args(["--sdxl", "x", "--out", "y", "--data", "z"])
    with pytest.raises(SystemExit, match="--device cpu"):
        run(args)


def test_a_pair_datasets_conditions_are_rebuilt_from_its_parameters(tmp_path, openhead_cache):
    """On a pair dataset the five landmarks come from the source mesh rebuilt from each line's
    parameters; they must sit where MediaPipe finds them on the source renders."""
    from stylemm.cli.stylize import main
    from stylemm.landmarks.detector import FaceMeshDetector

    assert main(["--style", "baby", "--count", "3", "--size", "256", "--out", str(tmp_path), "--threads", "1"]) == 0
    data = EAMData(tmp_path, 256)
    assert data.expression_dim == 52 and data.files[0] == "source/000000.png"
    records = [json.loads(line) for line in (tmp_path / "metadata.jsonl").read_text().splitlines()]
    sources = np.stack([np.asarray(Image.open(tmp_path / r["source_file"]).convert("RGB")) for r in records])
    detector = FaceMeshDetector()
    found = five_landmarks(torch.from_numpy(detector.detect(sources)).float()) / 256
    detector.close()
    error = (found - data.conditions["landmarks5"]).norm(dim=-1)
    assert error.max() < 0.03, error  # under 8 px at 256; MediaPipe's own spread is about 1 %
    yaws = torch.tensor([r["camera"]["yaw_deg"] for r in records])
    # The rotation's y component follows the camera's yaw (the camera orbits one way, the head turns the other).
    assert torch.corrcoef(torch.stack([yaws, data.conditions["rotation"][:, 1]]))[0, 1] < -0.9
