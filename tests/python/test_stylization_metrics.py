"""The stylization measures against cases whose answer is known: the source itself, a scaled
and a collapsed deformer, an oracle that adds the recipe's displacement, one that ignores expressions."""

import pytest
import torch

from stylemm.metrics import stylization

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setting():
    from stylemm.facemodel import load
    from stylemm.packs import load_pack
    from stylemm.stylize.recipes import get_recipe

    return load("openhead"), load_pack("realistic"), get_recipe("orc")


class Wrapped(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, shape, expression, vertices=None):
        return self.fn(shape, expression)


class Pack:
    def __init__(self, deformer, texture_generator):
        self.deformer, self.texture_generator = deformer, texture_generator


def test_diversity_is_the_source_s_for_the_source_quarter_for_half_scale_and_zero_when_collapsed(setting):
    model, source, _ = setting
    dims = (model.shape_dim, len(model.expression_names))
    full = stylization.diversity(source.deformer, *dims, count=200)
    half = stylization.diversity(Wrapped(lambda s, e: 0.5 * source.deformer(s, e)), *dims, count=200)
    collapsed = stylization.diversity(Wrapped(lambda s, e: source.deformer(torch.zeros_like(s), e)), *dims, count=200)
    assert full > 0 and half == pytest.approx(full / 4, rel=1e-6) and collapsed == pytest.approx(0, abs=1e-6 * full)


def test_recovery_of_the_source_is_the_style_displacement_and_an_oracle_recovers_it(setting):
    from stylemm.stylize.recipe_stylizer import RecipeStylizer

    model, source, recipe = setting
    same = stylization.recovery(model, source, source, recipe, count=4, size=64)
    geometry = same["geometry"]
    assert geometry["mean_mm"] == pytest.approx(geometry["style_displacement_mean_mm"]) and geometry["mean_mm"] > 2
    assert same["appearance"]["psnr_db"] == pytest.approx(same["appearance"]["source_psnr_db"])
    stylizer = RecipeStylizer(model, recipe, variation=0.0)

    def oracle(shape, expression):  # D_src plus the recipe's neutral displacement of this identity
        linear = model.template + torch.einsum("bk,knc->bnc", shape, model.shapedirs)
        return source.deformer(shape, expression) + stylizer.neutral(shape) - linear

    recovered = stylization.recovery(model, Pack(Wrapped(oracle), source.texture_generator), source, recipe, count=4, size=64)
    assert recovered["geometry"]["mean_mm"] < 0.1 * geometry["style_displacement_mean_mm"]


def test_expression_fidelity_is_one_for_the_source_and_zero_without_expressions(setting):
    model, source, _ = setting
    same = stylization.expression_fidelity(model, source, source, count=4)
    assert same["jaw_open_ratio"] == pytest.approx(1) and same["blink_ratio"] == pytest.approx(1)
    assert same["source"]["jaw_open_mm"] > 5 and same["source"]["blink_closes_mm"] > 2  # the probes measure real motion
    frozen = Pack(Wrapped(lambda s, e: source.deformer(s, torch.zeros_like(e))), source.texture_generator)
    still = stylization.expression_fidelity(model, frozen, source, count=4)
    assert still["jaw_open_ratio"] == pytest.approx(0, abs=1e-6) and still["blink_ratio"] == pytest.approx(0, abs=1e-6)
