"""The fine-tuning objective's balance: where its minimum lies against the recipe's 3D truth
(stylemm.metrics.objective). The trainer cannot reach what its objective does not prefer."""

import pytest
import torch

from stylemm.facemodel import load
from stylemm.finetune.perceptual import PerceptualTerms
from stylemm.finetune.stages import MEASURED, PAPER, StageLosses, plan
from stylemm.landmarks import load_embedding
from stylemm.metrics.objective import held_out_batch, terms, truth_geometry, weighted
from stylemm.packs import load_pack
from stylemm.render import MeshRenderer
from stylemm.stylize.recipes import get_recipe


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    model, source, recipe = load("openhead"), load_pack("realistic"), get_recipe("orc")
    renderer = MeshRenderer(model.faces, model.uvs, model.uv_faces, model.part_labels, num_parts=len(model.part_names))
    with torch.no_grad():
        batch = held_out_batch(model, source, recipe, 4, 96)
        truth = truth_geometry(model, source, recipe, batch)
    return model, source, recipe, renderer, batch, truth


def joint_totals(setup, balance) -> dict[str, float]:
    model, source, recipe, renderer, batch, truth = setup
    losses_ = StageLosses(model, source.deformer, renderer, load_embedding(model), recipe.shading, PerceptualTerms.build(), balance=balance)
    joint = next(s for s in plan(balance=balance) if s.name == "joint")
    with torch.no_grad():
        geometries = {"truth": truth, "source": losses_.geometry(source.deformer, batch)}
        return {name: weighted(joint, terms(losses_, g, batch))[1] for name, g in geometries.items()}


def test_the_default_balance_ranks_the_truth_below_the_source(setup):
    totals = joint_totals(setup, MEASURED)
    assert totals["truth"] < 0.5 * totals["source"]


def test_the_papers_numbers_rank_the_source_below_the_truth(setup):
    # Why MEASURED exists: at lambda_ang 1000 eq. 8 alone costs the orc truth more than D_src's whole objective.
    totals = joint_totals(setup, PAPER)
    assert totals["source"] < totals["truth"]


def test_the_truth_geometry_is_the_stylized_mesh_and_its_unposed_change(setup):
    model, source, recipe, renderer, batch, truth = setup
    assert torch.equal(truth.posed, batch["truth"].vertices)
    with torch.no_grad():
        unposed_source = source.deformer(batch["shape"], batch["expression"])
    moved = (truth.unposed - unposed_source).norm(dim=-1)
    assert moved.mean() > 1e-3  # the style moves the unposed mesh by millimetres
