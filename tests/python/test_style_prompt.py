"""Free prompts -> style atoms with the real all-MiniLM-L6-v2 (shipped in a PyPI wheel, offline)."""

import pytest

pytest.importorskip("sentence_transformers")

from stylemm.stylize.atoms import ATOMS, GEOMETRY  # noqa: E402
from stylemm.stylize.prompt import NothingMatched, load_encoder, match_prompt  # noqa: E402
from stylemm.stylize.recipes import get_recipe  # noqa: E402


@pytest.fixture(scope="module")
def encoder():
    return load_encoder()


def test_a_green_orc_picks_green_skin_and_orc_geometry(encoder):
    match = match_prompt("a green orc", encoder)
    assert match.strengths.get("green-skin", 0) >= 1.0
    orc_geometry = {a for a in get_recipe("orc").strengths if ATOMS[a].kind == GEOMETRY}
    assert orc_geometry <= set(match.strengths), f"missing orc geometry: {orc_geometry - set(match.strengths)}"
    assert match.scores["style:orc"] > 0.9 and match.spans["style:orc"] == "orc"
    assert match.unmatched == []


def test_gibberish_matches_nothing(encoder):
    with pytest.raises(NothingMatched, match="qwerty zxcv"):
        match_prompt("qwerty zxcv", encoder)
    with pytest.raises(NothingMatched, match="no words"):
        match_prompt("  ,, ", encoder)


def test_atoms_from_phrases_and_what_could_not_be_expressed(encoder):
    match = match_prompt("big eyes and pointed ears, wearing sunglasses", encoder)
    assert set(match.strengths) == {"big-eyes", "pointed-ears"}  # not also 'small eyes' or other near misses
    assert "sunglasses" in match.unmatched
    assert "could not express: " in match.report() and "big-eyes" in match.report()


def test_one_phrase_one_atom(encoder):
    """'grey skin' explains both words: no second skin atom rides along on the word 'skin'."""
    assert set(match_prompt("grey skin", encoder).strengths) == {"grey-blue-skin"}


def test_a_prompt_becomes_a_recipe(encoder):
    recipe = match_prompt("a marble statue", encoder).recipe("my-statue")
    assert recipe.name == "my-statue" and recipe.strengths["marble"] == 1.0
    assert recipe.shading.ambient > get_recipe("orc").shading.ambient  # the statue recipe's matte comes along
