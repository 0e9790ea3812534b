"""`stylemm-pretrain deformer` end to end with a tiny network."""

import json

from stylemm.cli.pretrain import main

TINY = ["--steps", "3", "--batch", "2", "--vertices-per-step", "64", "--threads", "1", "--hidden", "8", "--layers", "1",
        "--shape-code", "8", "--expression-code", "4", "--hyper-hidden", "8"]  # fmt: skip


def test_a_run_writes_weights_report_and_checkpoint(openhead, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["deformer", "--out", str(out), *TINY]) == 0
    for name in ("deformer/model.safetensors", "deformer/config.json", "evaluation.json", "command.json"):
        assert (out / name).is_file(), name
    assert (out / "checkpoint").is_dir()
    report = json.loads((out / "evaluation.json").read_text())
    assert report["samples"] == 1000 and report["mean_mm"] > 0
    assert '"mean_mm"' in capsys.readouterr().out  # the report is printed too


def test_a_resumed_run_records_every_invocation(openhead, tmp_path):
    out = tmp_path / "run"
    assert main(["deformer", "--out", str(out), *TINY]) == 0
    assert main(["deformer", "--out", str(out), "--resume", *TINY[:-2], "--hyper-hidden", "8"]) == 0
    record = json.loads((out / "command.json").read_text())
    assert "--resume" in record["argv"] and "--resume" not in record["earlier"]["argv"]


def test_resuming_a_missing_run_is_a_clear_error(openhead, tmp_path, capsys):
    assert main(["deformer", "--out", str(tmp_path / "none"), "--resume", *TINY]) == 2
    assert "nothing to resume" in capsys.readouterr().err


TINY_TEXTURE = ["--steps", "2", "--batch", "2", "--dataset-size", "8", "--threads", "1", "--height", "16", "--z-dim", "8",
                "--w-dim", "8", "--mapping-layers", "1", "--channel-base", "16", "--channel-max", "4", "--eval-samples", "16"]  # fmt: skip


def test_two_finished_runs_ship_as_the_realistic_pack(openhead, tmp_path, monkeypatch):
    import stylemm.packs as packs

    monkeypatch.setattr(packs, "SHIPPED", tmp_path / "weights")
    assert main(["deformer", "--out", str(tmp_path / "d"), *TINY]) == 0
    assert main(["texture-generator", "--out", str(tmp_path / "t"), *TINY_TEXTURE]) == 0
    assert main(["ship", "--deformer", str(tmp_path / "d"), "--texture-generator", str(tmp_path / "t")]) == 0
    target = tmp_path / "weights" / "realistic"
    assert sorted(p.name for p in target.iterdir()) == sorted(
        ["deformer", "texture_generator", "pack.json", "evaluation.json", "provenance.json"])  # fmt: skip
    pack = packs.load_pack("realistic")
    assert pack.evaluation["deformer"]["samples"] == 1000 and pack.evaluation["texture_generator"]["samples"] == 16
    assert pack.provenance["texture_generator"]["options"]["steps"] == 2
    assert pack.deformer.config.hidden == 8 and pack.texture_generator.config.height == 16


def test_shipping_an_unfinished_run_names_the_missing_files(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    assert main(["ship", "--deformer", str(tmp_path / "d"), "--texture-generator", str(tmp_path / "t")]) == 2
    assert "deformer/model.safetensors" in capsys.readouterr().err
