"""The fine-tuning run on a tiny pair dataset: the stages in order, a killed run that resumes
bit for bit, the ablations, the offline replacements reported, and the perceptual networks
loaded from local folders (tiny random configurations)."""

import json

import pytest
import torch

from stylemm.finetune.perceptual import CLIPDistance, DINODistance, LPIPSDistance, PerceptualTerms
from stylemm.finetune.stages import MEASURED, PAPER, plan
from stylemm.finetune.train import FinetuneOptions, Schedule, train_style

torch.set_num_threads(1)
TINY = dict(epochs={"warmup": 1, "joint": 1, "texture": 1}, batch=2, size=32, limit=4, threads=1, checkpoint_minutes=100)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Six recipe orc pairs at 64 px, made by the real stylize pipeline."""
    from stylemm.cli.stylize import main

    out = tmp_path_factory.mktemp("pairs") / "orc"
    assert main(["--style", "orc", "--count", "6", "--size", "64", "--out", str(out), "--threads", "1"]) == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["summary"]["samples"] - info["summary"]["flagged"] >= 2, "too few usable pairs for the tests"
    return out


def _weights(folder):
    from stylemm.packs import load_pack

    pack = load_pack(folder)
    return {f"{n}.{k}": v for n in ("deformer", "texture_generator") for k, v in getattr(pack, n).state_dict().items()}


def test_a_killed_run_resumes_bit_for_bit_and_reports_what_ran(pairs, tmp_path):
    whole = train_style(pairs, tmp_path / "whole", FinetuneOptions(**TINY), progress_bar=False, log=lambda *_: None)
    assert whole["finished"] and [s["name"] for s in whole["stages"]] == ["warmup", "joint", "texture"]
    assert whole["reads_3d_truth"] is False
    for term in ("clip", "dino", "lpips"):
        assert "replaced offline by kornia" in whole["perceptual_terms"][term]
    messages = []
    first = train_style(pairs, tmp_path / "killed", FinetuneOptions(**TINY), stop_after=3, progress_bar=False, log=messages.append)
    assert not first["finished"] and not (tmp_path / "killed" / "pack").exists()
    partial = train_style(pairs, tmp_path / "killed", FinetuneOptions(**TINY), pack_checkpoint=True, progress_bar=False,
                          log=lambda *_: None)  # fmt: skip
    assert partial["steps_done"] == 3 and (tmp_path / "killed" / "pack" / "pack.json").is_file()
    assert any("clip: replaced offline by kornia SSIM" in m for m in messages)  # the log says which terms ran
    second = train_style(pairs, tmp_path / "killed", FinetuneOptions(**TINY), resume=True, progress_bar=False, log=lambda *_: None)
    assert second["finished"]
    a, b = _weights(tmp_path / "whole" / "pack"), _weights(tmp_path / "killed" / "pack")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    source = _weights("realistic")
    assert any(not torch.equal(a[k], source[k]) for k in a)  # it did train
    provenance = json.loads((tmp_path / "whole" / "pack" / "provenance.json").read_text())
    assert provenance["finetune"]["perceptual_terms"] == whole["perceptual_terms"]
    assert provenance["finetune"]["data"]["recipe"]["name"] == "orc"

    from stylemm.cli.eval import main as evaluate

    assert evaluate([str(tmp_path / "whole"), "--count", "2", "--diversity-meshes", "50", "--threads", "1"]) == 0
    measured = json.loads((tmp_path / "whole" / "pack" / "evaluation.json").read_text())["stylization"]
    assert measured["recipe"]["name"] == "orc" and 0 < measured["diversity"]["ratio"] < 2
    assert measured["recovery"]["geometry"]["style_displacement_mean_mm"] > 1


def test_the_ablations_change_the_plan():
    assert [s.name for s in plan()] == ["warmup", "joint", "texture"]
    assert [s.name for s in plan(warmup=False, texture_refine=False)] == ["joint"]
    assert all("cdl" not in s.weights for s in plan(cdl=False))
    warmup, joint, texture = plan()
    assert warmup.weights == {"kp": 300, "reg": 4, "cdl": 4000} and warmup.epochs == 2
    assert joint.weights == {"recon": 500, "seg": PAPER.seg_weight, "reg": 2, "cdl": 500} and joint.epochs == 4
    assert texture.weights == {"lpips": 50, "gan": 1} and texture.trains == ("texture_generator",)


def test_no_warmup_leaves_the_deformer_to_the_joint_stage_and_no_texture_stage_runs(pairs, tmp_path):
    record = train_style(pairs, tmp_path / "run", FinetuneOptions(**TINY, warmup=False, texture_refine=False, cdl=False),
                         progress_bar=False, log=lambda *_: None)  # fmt: skip
    assert [s["name"] for s in record["stages"]] == ["joint"] and "cdl" not in record["stages"][0]["weights"]


def test_the_schedule_covers_every_sample_once_per_epoch():
    schedule = Schedule(plan(), samples=10, batch=3, seed=1)
    assert schedule.steps_per_epoch == 3 and schedule.total == (2 + 4 + 4) * 3
    assert schedule.locate(0) == (0, 0) and schedule.locate(6) == (1, 0) and schedule.locate(29) == (2, 11)
    seen = [i for position in range(3) for i in schedule.indices(1, 3 + position)]
    assert len(set(seen)) == 9  # one epoch: no sample twice (the tenth waits for another epoch)
    assert list(schedule.indices(1, 3)) == list(Schedule(plan(), 10, 3, 1).indices(1, 3))


# -- the real networks from local folders, as tiny random configurations -------------------------
def test_clip_from_a_local_folder_measures_image_and_text_similarity(tmp_path):
    from transformers import CLIPConfig, CLIPModel

    config = CLIPConfig(
        text_config=dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                         max_position_embeddings=16),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, image_size=32,
                           patch_size=8),
        projection_dim=16,
    )  # fmt: skip
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(tmp_path / "clip")
    clip = CLIPDistance.from_folder(tmp_path / "clip")
    a, b = torch.rand(2, 3, 40, 40), torch.rand(2, 3, 40, 40)
    assert clip(a, a).item() == pytest.approx(0, abs=1e-5) and clip(a, b).item() > 0
    a.requires_grad_(True)
    clip(a, b).backward()
    assert a.grad.abs().sum() > 0  # the term reaches the rendered image


def test_dino_from_a_local_folder(tmp_path):
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, patch_size=8,
                             image_size=32)).save_pretrained(tmp_path / "dino")  # fmt: skip
    dino = DINODistance.from_folder(tmp_path / "dino")
    dino.size = 32
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert dino(a, a).item() == pytest.approx(0, abs=1e-5) and dino(a, b).item() > 0


def test_lpips_from_a_local_folder_is_zero_on_equal_images_and_matches_its_definition(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    widths = (4, "M", 6, "M", 8)
    reference = LPIPSDistance(widths)
    for p in reference.parameters():
        p.data.normal_()
    for lin in reference.lins:
        lin.weight.data.abs_()  # the shipped heads are non-negative
    folder = tmp_path / "lpips"
    folder.mkdir()
    save_file({f"features.{k}": v.contiguous() for k, v in reference.features.state_dict().items()}, folder / "backbone.safetensors")
    save_file({f"lin{k}.model.1.weight": lin.weight.contiguous() for k, lin in enumerate(reference.lins)}, folder / "lpips.safetensors")
    (folder / "config.json").write_text(json.dumps({"widths": list(widths)}))
    lpips = LPIPSDistance.from_folder(folder)
    a, b = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    assert lpips(a, a).item() == 0
    # by hand: the first tap is the ReLU of the first conv, unit-normalised over channels
    x = (a * 2 - 1 - lpips.shift) / lpips.scale, (b * 2 - 1 - lpips.shift) / lpips.scale
    expected = 0.0
    fa, fb = x
    for k, layer in enumerate(lpips.features):
        fa, fb = layer(fa), layer(fb)
        if k in lpips.taps:
            na, nb = fa / (fa.norm(dim=1, keepdim=True) + 1e-10), fb / (fb.norm(dim=1, keepdim=True) + 1e-10)
            w = lpips.lins[lpips.taps.index(k)].weight[0, :, 0, 0]
            expected += ((na - nb).square() * w[None, :, None, None]).sum(1).mean().item()
    assert lpips(a, b).item() == pytest.approx(expected, rel=1e-5)


def test_given_folders_are_used_and_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="--clip .*no such folder"):
        PerceptualTerms.build(clip=tmp_path / "missing")
    terms = PerceptualTerms.build()
    assert set(terms.report()) == {"clip", "dino", "lpips"}
    image = torch.rand(1, 3, 32, 32)
    assert terms.lpips(image, image).item() == pytest.approx(0, abs=1e-6)
    assert terms.clip(image, torch.rand(1, 3, 32, 32)).item() > 0.05


def test_the_picture_shows_each_identity_realistic_and_stylized_and_an_expression_strip():
    from stylemm.facemodel import load
    from stylemm.finetune.pictures import sheet
    from stylemm.packs import load_pack

    source = load_pack("realistic")
    image = sheet(source, source, load("openhead"), count=5, size=32)
    assert image.size == (5 * 32, 4 * (32 + 14))  # realistic, stylized, stylized expressions, realistic expressions
    import numpy as np

    pixels = np.asarray(image)
    assert np.array_equal(pixels[:32], pixels[46 : 46 + 32])  # the source as its own "style": the same identities


def test_the_balance_sets_lambda_seg_and_the_default_is_the_papers():
    joint = {s.name: s for s in plan(balance=MEASURED)}["joint"]
    assert joint.weights["seg"] == MEASURED.seg_weight == 1000.0
    paper = {s.name: s for s in plan()}["joint"]
    assert paper.weights == {"recon": 500.0, "seg": 100.0, "reg": 2.0, "cdl": 500.0}
    assert PAPER.reg_weights == (1.0, 50.0, 1000.0) and PAPER.seg_classes == ("eye", "nose", "ear", "background")
