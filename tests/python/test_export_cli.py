"""`stylemm-export --style NAME`: the shipped source networks and style packs as bundles."""

import numpy as np
import pytest

import stylemm_runtime
from stylemm.packs import SHIPPED, shipped_styles
from stylemm_export.cli import main

SHIPPED_LIMIT_MB = 80  # all shipped packs together (issue 16)


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


@pytest.fixture(scope="module")
def realistic_mesh(tmp_path_factory):
    out = tmp_path_factory.mktemp("realistic") / "realistic.smm"
    assert main(["--style", "realistic", "--out", str(out)]) == 0
    return stylemm_runtime.load(out).character(seed=4).mesh()


@pytest.mark.parametrize("style", shipped_styles())
def test_every_shipped_style_exports_a_bundle_and_a_valid_glb(style, realistic_mesh, tmp_path, khronos_validator):
    out, glb = tmp_path / f"{style}.smm", tmp_path / f"{style}.glb"
    assert main(["--style", style, "--out", str(out), "--glb", str(glb), "--character-seed", "4"]) == 0
    model = stylemm_runtime.load(out)
    assert model.style == style
    assert khronos_validator(glb)["issues"]["numErrors"] == 0
    moved_mm = 1000 * np.linalg.norm(model.character(seed=4).mesh() - realistic_mesh, axis=1).mean()
    if style == "realistic":
        assert moved_mm < 1e-6
    else:  # the same seed is the same identity, stylized: it moves by millimetres, not by nothing
        assert moved_mm > 1.0, f"{style} moved the face by {moved_mm:.2f} mm on average"


def test_the_shipped_packs_stay_small():
    total_mb = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file()) / 2**20
    assert total_mb <= SHIPPED_LIMIT_MB, f"the shipped packs take {total_mb:.1f} MB"
