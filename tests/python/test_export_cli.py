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


def test_export_takes_a_pack_folder_and_lists_the_shipped_styles(openhead, networks, tmp_path, capsys):
    """--style takes the path of any style pack (what stylemm-train writes), and records its
    name and prompt; --list-styles names the shipped packs."""
    from stylemm.packs import StylePack

    deformer, generator = networks
    pack = StylePack(style="tiny-orc", source_model="openhead", deformer=deformer, texture_generator=generator,
                     prompt="a green orc").save(tmp_path / "pack")  # fmt: skip
    out = tmp_path / "tiny.smm"
    assert main(["--style", str(pack), "--out", str(out)]) == 0
    model = stylemm_runtime.load(out)
    assert (model.style, model.bundle.manifest["prompt"]) == ("tiny-orc", "a green orc")
    assert model.landmarks is not None and len(model.landmarks.triangles) == 478
    capsys.readouterr()
    assert main(["--list-styles"]) == 0
    assert "realistic" in capsys.readouterr().out.split()
    assert main(["--style", "no-such-style", "--out", str(tmp_path / "x.smm")]) == 2
    assert "no style 'no-such-style'" in capsys.readouterr().err
