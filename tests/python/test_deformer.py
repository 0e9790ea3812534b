"""D_src: the hypernetwork SIREN deformer and its resumable distillation (tiny configs)."""

import numpy as np
import pytest
import torch

from flame_fixture import synthetic_flame, write_flame_pickle
from small_models import smooth_model
from stylemm.pretrain.deformer import ParameterStream, TrainOptions, evaluate, train_deformer
from stylemm.facemodel import load
from stylemm.nets.deformer import Deformer, DeformerConfig

TINY = dict(shape_code=16, expression_code=8, hidden=16, layers=2, hyper_hidden=16)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("flame") / "generic_model.pkl"
    write_flame_pickle(path, synthetic_flame(np.random.default_rng(0)))
    return load("flame", path=path)


def _config(model):
    return DeformerConfig(shape_dim=model.shape_dim, expression_dim=model.expression_dim, **TINY)


def _options(**changes):
    return TrainOptions(**{**dict(steps=6, batch=4, vertices_per_step=32, lr=1e-3, threads=1), **changes})


def test_the_deformer_starts_at_the_template(small_model):
    deformer = Deformer(_config(small_model), small_model.template)
    out = deformer(torch.randn(3, small_model.shape_dim), torch.randn(3, small_model.expression_dim))
    assert out.shape == (3, small_model.num_vertices, 3)
    assert torch.allclose(out, small_model.template.expand(3, -1, -1), atol=1e-6)


def test_a_few_steps_reduce_the_error(tmp_path):
    model = smooth_model()
    before = evaluate(Deformer(_config(model), model.template), model, count=40, batch=20)
    trained = train_deformer(model, _config(model), tmp_path, _options(steps=200, vertices_per_step=128), progress_bar=False)
    after = evaluate(trained, model, count=40, batch=20)
    assert after["mean_mm"] < 0.7 * before["mean_mm"]
    assert (tmp_path / "deformer" / "model.safetensors").is_file() and (tmp_path / "deformer" / "config.json").is_file()


def test_kill_and_resume_gives_the_same_weights(small_model, tmp_path):
    straight = train_deformer(small_model, _config(small_model), tmp_path / "a", _options(), progress_bar=False)
    train_deformer(small_model, _config(small_model), tmp_path / "b", _options(), stop_after=3, progress_bar=False)
    assert not (tmp_path / "b" / "deformer").exists()  # interrupted: no final weights
    resumed = train_deformer(small_model, _config(small_model), tmp_path / "b", _options(), resume=True, progress_bar=False)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_resume_without_a_checkpoint_is_a_clear_error(small_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train_deformer(small_model, _config(small_model), tmp_path, _options(), resume=True, progress_bar=False)


def test_save_and_load_round_trip(small_model, tmp_path):
    deformer = Deformer(_config(small_model), small_model.template)
    with torch.no_grad():
        for p in deformer.parameters():
            p.add_(0.01 * torch.randn_like(p))
    deformer.save_pretrained(tmp_path)
    loaded = Deformer.from_pretrained(tmp_path)
    assert torch.equal(loaded.template, deformer.template)  # geometry is stored exactly
    shape, expression = torch.randn(2, small_model.shape_dim), torch.randn(2, small_model.expression_dim)
    assert torch.allclose(loaded(shape, expression), deformer(shape, expression), atol=2e-3)  # fp16 weights
    with pytest.raises(FileNotFoundError, match="stylemm-pretrain deformer"):
        Deformer.from_pretrained(tmp_path / "missing")


def test_expression_samples_are_sparse_symmetric_weights(openhead):
    stream = ParameterStream(openhead, seed=0)
    _, expression = stream.sample(4000)
    assert expression.min() >= 0 and expression.max() <= 1
    active = (expression > 0).float().mean()
    assert 0.05 < active < 0.4
    left, right = openhead.expression_names.index("eyeBlinkLeft"), openhead.expression_names.index("eyeBlinkRight")
    same = (expression[:, left] == expression[:, right]) & (expression[:, left] > 0)
    assert same.float().mean() > 0.02  # mirrored units move together some of the time
