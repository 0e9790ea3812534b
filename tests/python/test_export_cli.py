"""`stylemm-export --style realistic`: the shipped source networks as a bundle."""

import stylemm_runtime
from stylemm_export.cli import main


def test_export_writes_the_realistic_bundle_and_overwrites_only_when_forced(openhead, tmp_path, capsys):
    out = tmp_path / "realistic.smm"
    assert main(["--style", "realistic", "--out", str(out)]) == 0
    assert "deformer.onnx" in capsys.readouterr().out  # the summary lists the files
    model = stylemm_runtime.load(out)
    assert model.style == "realistic" and model.bundle.manifest["source_model"] == "openhead"
    assert model.character(seed=0).mesh().shape == (openhead.num_vertices, 3)
    assert main(["--style", "realistic", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    glb = tmp_path / "head.glb"
    assert main(["--style", "realistic", "--out", str(out), "--force", "--glb", str(glb), "--character-seed", "3"]) == 0
    assert glb.stat().st_size > 100_000 and "morph targets vs the network" in capsys.readouterr().out
