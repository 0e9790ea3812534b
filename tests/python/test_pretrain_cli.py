"""`stylemm-pretrain deformer` end to end with a tiny network."""

import json

from stylemm.cli.pretrain import main

TINY = ["--steps", "3", "--batch", "2", "--vertices-per-step", "64", "--threads", "1", "--hidden", "8", "--layers", "1",
        "--shape-code", "8", "--expression-code", "4", "--hyper-hidden", "8"]  # fmt: skip


def test_a_run_writes_weights_report_and_checkpoint(openhead, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["deformer", "--out", str(out), *TINY]) == 0
    for name in ("deformer.safetensors", "deformer.json", "evaluation.json", "command.json"):
        assert (out / name).is_file(), name
    assert (out / "checkpoint").is_dir()
    report = json.loads((out / "evaluation.json").read_text())
    assert report["samples"] == 1000 and report["mean_mm"] > 0
    assert '"mean_mm"' in capsys.readouterr().out  # the report is printed too


def test_resuming_a_missing_run_is_a_clear_error(openhead, tmp_path, capsys):
    assert main(["deformer", "--out", str(tmp_path / "none"), "--resume", *TINY]) == 2
    assert "nothing to resume" in capsys.readouterr().err
