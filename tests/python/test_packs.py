"""Style packs: the shipped `realistic` pack (D_src, G_src) reproduces the source model and
its texture family, measured here rather than read from its committed report; packs load
by name or path and refuse what is not one."""

import json
import shutil

import pytest
import torch

from stylemm import load_pack
from stylemm.metrics.texture_quality import HELD_OUT_SEED, colour_statistics, frechet_distance, generate
from stylemm.pretrain.deformer import ParameterStream
from stylemm.pretrain.texture_generator import texture_pool


@pytest.fixture(scope="module")
def pack():
    return load_pack("realistic")


def test_the_realistic_pack_is_the_openhead_source_networks(pack):
    assert (pack.style, pack.source_model, pack.prompt) == ("realistic", "openhead", None)
    assert pack.path.name == "realistic"


def test_shipped_deformer_reproduces_64_held_out_meshes_within_the_bound(pack, openhead):
    shape, expression = ParameterStream(openhead, seed=4321).sample(64)
    with torch.no_grad():
        error_mm = (pack.deformer(shape, expression) - openhead(shape=shape, expression=expression)).norm(dim=-1) * 1000
    assert error_mm.mean() <= 0.5
    assert error_mm.flatten().quantile(0.99) <= 2.0
    # 64 meshes against the 1,000 of the report: the mean must agree to within 15 %.
    assert error_mm.mean().item() == pytest.approx(pack.evaluation["deformer"]["mean_mm"], rel=0.15)
    # The shipped template is the OpenHead build it was trained on; another CPU's BLAS may build
    # OpenHead one ulp apart (measured: one coordinate, 6e-14 m).
    assert torch.allclose(pack.deformer.template, openhead.template.float(), rtol=0, atol=1e-12)


def test_shipped_texture_generator_matches_the_procedural_family_it_learned(pack, openhead):
    generator = pack.texture_generator
    height = generator.config.height
    fake = generate(generator, 96, seed=HELD_OUT_SEED)
    real = texture_pool(openhead, height, 96, HELD_OUT_SEED, progress_bar=False).float() / 255
    other = texture_pool(openhead, height, 96, HELD_OUT_SEED + 1, progress_bar=False).float() / 255
    assert fake.shape == (96, 3, height, 2 * height) and fake.min() >= 0 and fake.max() <= 1
    assert (fake[1:] - fake[:1]).abs().mean([1, 2, 3]).min() > 0.01  # every sample differs
    floor = frechet_distance(colour_statistics(other), colour_statistics(real))
    # The report measured 6x the floor with 512 samples; an untrained or broken generator is >100x.
    assert frechet_distance(colour_statistics(fake), colour_statistics(real)) < 20 * floor


def test_a_pack_loads_from_its_path_too(pack, tmp_path):
    copy = shutil.copytree(pack.path, tmp_path / "mine")
    loaded = load_pack(copy)
    assert loaded.style == "realistic" and torch.equal(loaded.deformer.template, pack.deformer.template)


def test_a_pack_saved_and_loaded_keeps_its_networks(pack, tmp_path):
    pack.style, pack.prompt = "copy", "a copy"
    try:
        pack.save(tmp_path / "copy")
    finally:
        pack.style, pack.prompt = "realistic", None
    loaded = load_pack(tmp_path / "copy")
    assert (loaded.style, loaded.prompt) == ("copy", "a copy")
    z = torch.randn(2, pack.texture_generator.config.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(loaded.texture_generator.texture(z), pack.texture_generator.texture(z))  # fp16 both times
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no staging left behind


def test_unknown_styles_and_folders_that_are_not_packs_get_clear_errors(pack, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no style 'bfm'.*'realistic'"):
        load_pack("bfm")
    with pytest.raises(FileNotFoundError, match="not a style pack: it has no pack.json"):
        load_pack(tmp_path)
    broken = shutil.copytree(pack.path, tmp_path / "broken")
    index = json.loads((broken / "pack.json").read_text())
    index["networks"]["deformer"]["class"] = "TextureGenerator"
    (broken / "pack.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="names no Deformer"):
        load_pack(broken)


def test_a_network_folder_refuses_the_wrong_class(pack):
    from stylemm.nets.deformer import Deformer

    with pytest.raises(ValueError, match="holds a TextureGenerator, not a Deformer"):
        Deformer.from_pretrained(pack.path / "texture_generator")
