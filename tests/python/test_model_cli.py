"""`stylemm-model`: info, samples and the errors users see."""

import json

import imageio.v3 as iio

import numpy as np
import trimesh
from PIL import Image

from stylemm.cli.model import ARKIT_PRESETS, main


def test_info_reports_openhead_sizes(openhead, capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == "openhead"
    assert info["vertices"] == openhead.num_vertices
    assert info["triangles"] == len(openhead.faces)
    assert (info["shape_dim"], info["expression_dim"]) == (100, 52)
    assert info["joints"] == openhead.joint_names


def test_samples_write_meshes_and_pictures(openhead, tmp_path, capsys):
    out = tmp_path / "samples"
    assert main(["samples", "--count", "2", "--out", str(out), "--size", "96"]) == 0
    objs, glbs = sorted(out.glob("*.obj")), sorted(out.glob("*.glb"))
    assert len(objs) == len(glbs) == 2 * len(ARKIT_PRESETS)
    text = objs[0].read_text().splitlines()
    assert sum(line.startswith("v ") for line in text) == openhead.num_vertices
    assert sum(line.startswith("f ") for line in text) == len(openhead.faces)
    glb = trimesh.load(glbs[0], force="mesh")
    assert len(glb.faces) == len(openhead.faces)
    assert glb.visual.uv is not None and len(glb.visual.uv) == len(glb.vertices)
    # Different identities give different meshes.
    a = np.loadtxt([line[2:] for line in text if line.startswith("v ")])
    b = np.loadtxt([line[2:] for line in objs[-1].read_text().splitlines() if line.startswith("v ")])
    assert np.abs(a - b).max() > 1e-3
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.width == 96 * len(ARKIT_PRESETS) and sheet.height > 2 * 96
    pixels = np.asarray(sheet)
    assert pixels.std() > 10  # heads were drawn, not a blank page
    for picture in ("parts.png", "uv_layout.png"):
        assert Image.open(out / picture).size[0] > 0
    turntable, sweep = iio.imread(out / "turntable.mp4"), iio.imread(out / "expressions.mp4")
    assert turntable.shape == (90, 96, 96, 3)
    expressive = sum(1 for v in ARKIT_PRESETS.values() if v)
    assert sweep.shape == (expressive * 24, 96, 96, 3)
    assert not list(out.glob(".*.tmp*"))  # nothing half-written left behind


def test_bad_arguments_get_a_clear_error(tmp_path, capsys):
    assert main(["samples", "--format", "fbx", "--out", str(tmp_path)]) == 2
    assert "--format takes obj and/or glb" in capsys.readouterr().err
    assert main(["info", "--model", "flame"]) == 2
    assert "needs path=" in capsys.readouterr().err
    assert main(["info", "--model", "flame", "--path", str(tmp_path / "missing.pkl")]) == 2


def test_textures_writes_maps_and_textured_heads(openhead, tmp_path):
    out = tmp_path / "textures"
    assert main(["textures", "--count", "2", "--out", str(out), "--size", "64"]) == 0
    maps, heads = Image.open(out / "textures.png"), Image.open(out / "textured_heads.png")
    assert maps.size == (2 * 512, 256) and heads.size == (2 * 64, 64)
    pixels = np.asarray(heads).astype(int)
    assert np.abs(pixels[:, :64] - pixels[:, 64:]).mean() > 3  # two different faces
