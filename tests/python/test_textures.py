"""The procedural skin texture family: shapes, determinism, variety, features in place."""

import pytest
import torch

from stylemm.textures import SkinTextures


@pytest.fixture(scope="module")
def skins(openhead):
    return SkinTextures(openhead)


@pytest.fixture(scope="module")
def batch(skins):
    return skins.sample(24, torch.Generator().manual_seed(0))


def _mean_colour(batch, mask):
    weights = mask / mask.sum()
    return (batch * weights).sum((-2, -1))  # (B, 3)


def test_textures_have_the_layout_shape_and_range(skins, batch):
    assert batch.shape == (24, 3, 256, 512)
    assert batch.min() >= 0 and batch.max() <= 1
    assert skins.texels.covered.float().mean() > 0.5  # the layout uses most of the texture


def test_the_same_seed_gives_the_same_textures(skins, batch):
    again = skins.sample(24, torch.Generator().manual_seed(0))
    assert torch.equal(batch, again)
    other = skins.sample(1, torch.Generator().manual_seed(1))
    assert not torch.allclose(batch[0], other[0])


def test_skin_tones_range_from_light_to_dark(skins, batch):
    skin = _mean_colour(batch, skins.masks["cheeks"]).mean(-1)
    assert skin.max() > 0.6 and skin.min() < 0.32
    assert skin.std() > 0.08


def test_features_are_where_the_landmarks_put_them(skins, batch):
    cheeks = _mean_colour(batch, skins.masks["cheeks"])
    lips = _mean_colour(batch, skins.masks["lips"])
    brows = _mean_colour(batch, skins.masks["brows"])
    iris_free_eyeball = skins.masks["eyeball"] * (1 - skins.masks["iris"])
    sclera = _mean_colour(batch, iris_free_eyeball)
    redness = lambda c: c[:, 0] / c[:, 1]  # noqa: E731
    assert (redness(lips) > redness(cheeks)).float().mean() > 0.9
    assert (brows.mean(-1) < cheeks.mean(-1)).float().mean() > 0.9
    assert (sclera.mean(-1) > 0.75).all()
    skin = skins.masks["skin"].sum()
    for name, largest in (("lips", 0.1), ("brows", 0.1), ("teeth", 0.1), ("lids", 0.1), ("beard", 0.25)):
        assert 20 < skins.masks[name].sum() < largest * skin, name
    assert skins.masks["iris"].sum() >= 10  # the eyeballs' UV islands are small


def test_a_model_without_uvs_cannot_be_textured(openhead):
    from stylemm.facemodel.model import FaceModel

    bare = FaceModel.__new__(FaceModel)
    torch.nn.Module.__init__(bare)
    bare.name = "bare"
    bare.register_buffer("uvs", torch.zeros(0, 2))
    with pytest.raises(ValueError, match="has no UV layout"):
        SkinTextures(bare)
