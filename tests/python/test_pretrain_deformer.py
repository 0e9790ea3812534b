"""The training parameter stream: expressions drawn by the runtime's rule, and a state
that is plain data, survives a checkpoint and resumes the stream where it stopped."""

import io
import json

import numpy as np
import pytest
import torch

from small_models import smooth_model
from stylemm.pretrain.deformer import ParameterStream
from stylemm_runtime.baking import sample_expressions

NAMES = ["jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight", "browInnerUp"]


def test_expressions_follow_the_runtime_rule():
    model = smooth_model()
    shape, expression = ParameterStream(model, seed=5).sample(16)
    rng = np.random.default_rng(5)
    rng.standard_normal((16, model.shape_dim)), rng.random((16, 1))  # the shapes come first
    np.testing.assert_array_equal(expression.numpy(), sample_expressions(model.expression_names, 16, rng))
    assert shape.dtype == expression.dtype == torch.float32


def test_mirrored_units_move_together_and_unpaired_ones_alone():
    weights = sample_expressions(NAMES, 4000, np.random.default_rng(0))
    blink_left, blink_right = weights[:, 1], weights[:, 2]
    assert ((blink_left == blink_right) & (blink_left > 0)).mean() > 0.02
    assert 0.05 < (weights > 0).mean() < 0.4 and weights.min() >= 0 and weights.max() <= 1


def test_the_state_is_plain_data_and_resumes_the_stream():
    model = smooth_model()
    stream = ParameterStream(model, seed=1)
    stream.sample(7)
    buffer = io.BytesIO()
    torch.save(stream.state_dict(), buffer)  # as Accelerate checkpoints it
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # no numpy objects inside
    resumed = ParameterStream(model, seed=999)
    resumed.load_state_dict(state)
    for a, b in zip(stream.sample(5), resumed.sample(5)):
        assert torch.equal(a, b)


@pytest.mark.parametrize("state, message", [
    ({"generator": torch.zeros(5056, dtype=torch.uint8)}, "older stylemm"),
    ({"generator": "not json"}, "malformed"),
    ({"generator": json.dumps({"bit_generator": "MT19937"})}, "malformed"),
])  # fmt: skip
def test_foreign_stream_states_are_refused_by_name(state, message):
    with pytest.raises(ValueError, match=message):
        ParameterStream(smooth_model(), seed=0).load_state_dict(state)
