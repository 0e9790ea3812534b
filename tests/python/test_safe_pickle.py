"""The restricted unpickler refuses code, and still reads what FLAME files contain."""

import io
import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from stylemm import safe_pickle


class _Payload:
    """Pickles as a call to os.system: what a malicious model file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_code_in_a_pickle_is_refused_and_never_runs(tmp_path, protocol):
    marker = tmp_path / "pwned"
    data = pickle.dumps({"v_template": np.zeros(3), "evil": _Payload(marker)}, protocol=protocol)
    with pytest.raises(safe_pickle.UnsafePickleError, match="system"):
        safe_pickle.load(io.BytesIO(data))
    assert not marker.exists()
    with pytest.raises(safe_pickle.UnsafePickleError, match="eval"):
        safe_pickle.load(io.BytesIO(pickle.dumps(_Eval(), protocol=protocol)))


def test_arrays_sparse_matrices_and_scalars_are_read():
    matrix = sp.csc_matrix(np.array([[0.0, 1.5], [2.0, 0.0], [0.0, 0.0]]))
    content = {"a": np.arange(6.0).reshape(2, 3), "i": np.uint32(7), "s": matrix, "t": [np.ones(2)]}
    for protocol in (2, 4):
        out = safe_pickle.load(io.BytesIO(pickle.dumps(content, protocol=protocol)))
        np.testing.assert_array_equal(out["a"], content["a"])
        np.testing.assert_array_equal(out["s"], matrix.toarray())
        assert out["i"] == 7 and isinstance(out["t"], list)


def test_array_subclasses_are_refused():
    data = pickle.dumps(np.ma.masked_array([1.0, 2.0]), protocol=2)
    with pytest.raises(safe_pickle.UnsafePickleError):
        safe_pickle.load(io.BytesIO(data))
