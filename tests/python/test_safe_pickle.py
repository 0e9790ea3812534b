"""The restricted unpickler refuses code, and still reads what FLAME files contain."""

import builtins
import io
import os
import pickle
import struct
import subprocess
import sys
import types

import numpy as np
import pytest
import scipy.sparse as sp

from stylemm.io import safe_pickle


class _System:
    """Pickles as a call to os.system: what a malicious model file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Popen(_System):
    def __reduce__(self):
        return (subprocess.Popen, (["touch", str(self.marker)],))


class _Eval(_System):
    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w')",))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
# Below protocol 3 Python writes Python-2 module names (commands.Popen, __builtin__.eval).
@pytest.mark.parametrize("payload, refused", [(_System, r"\w\.system"), (_Popen, r"\w\.Popen"), (_Eval, r"\w\.eval")])
def test_code_in_a_pickle_is_refused_and_never_runs(tmp_path, protocol, payload, refused):
    marker = tmp_path / "pwned"
    data = pickle.dumps({"v_template": np.zeros(3), "evil": payload(marker)}, protocol=protocol)
    with pytest.raises(safe_pickle.UnsafePickleError, match=refused):
        safe_pickle.load(io.BytesIO(data))
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_arrays_sparse_matrices_scalars_and_sets_are_read(protocol):
    dense = np.array([[0.0, 1.5], [2.0, 0.0], [0.0, 0.0]])
    content = {
        "a": np.arange(6.0).reshape(2, 3), "f": np.asfortranarray(np.arange(6, dtype=np.uint32).reshape(2, 3)),
        "i": np.uint32(7), "csc": sp.csc_matrix(dense), "csr": sp.csr_matrix(dense), "t": [np.ones(2)],
        "s": {"x"}, "empty": np.zeros((0, 3)),
    }  # fmt: skip
    out = safe_pickle.load(io.BytesIO(pickle.dumps(content, protocol=protocol)))
    for key in ("a", "f", "empty"):
        np.testing.assert_array_equal(out[key], content[key])
        assert out[key].dtype == content[key].dtype
    assert isinstance(out["csc"], sp.csc_matrix) and isinstance(out["csr"], sp.csr_matrix)
    np.testing.assert_array_equal(out["csc"].toarray(), dense)
    np.testing.assert_array_equal(out["csr"].toarray(), dense)
    assert out["i"] == 7 and out["s"] == {"x"} and isinstance(out["t"], list)


class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2's str opcodes, as FLAME's Python-2 files hold numpy data."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def test_python2_pickles_are_read_byte_for_byte():
    content = {"v": np.linspace(-1, 1, 300).reshape(100, 3), "i": np.int64(-5)}  # bytes >= 0x80 in the data
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(content)
    assert pickle.BINSTRING in buffer.getvalue()
    out = safe_pickle.load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(out["v"], content["v"])
    assert out["i"] == -5


# chumpy as it pickles: NEWOBJ(class) + BUILD(instance __dict__ without its caches).
class _FakeCh:
    def __init__(self, **terms):
        self.__dict__.update({"_dirty_vars": set(), "_itr": None, "_parents": {}, "_cache": {"r": None},
                              "_depends_on_deps": {}, "_make_dense": False, "_make_sparse": False, **terms})  # fmt: skip

    def __getstate__(self):  # chumpy.ch.Ch.__getstate__ drops the weak-reference caches
        return {k: v for k, v in self.__dict__.items() if k not in ("_parents", "_cache")}


def _dump_with_fake_chumpy(content, classes: dict, protocol=2) -> bytes:
    """Pickle ``content`` while fake chumpy modules exist, then remove them again."""
    modules = {"chumpy": types.ModuleType("chumpy")}
    for qualified, cls in classes.items():
        module, name = qualified.rsplit(".", 1)
        modules.setdefault(module, types.ModuleType(module))
        setattr(modules[module], name, cls)
        cls.__module__, cls.__name__, cls.__qualname__ = module, name, name
    sys.modules.update(modules)
    try:
        return pickle.dumps(content, protocol=protocol)
    finally:
        for module in modules:
            del sys.modules[module]


Ch = type("Ch", (_FakeCh,), {})
Select = type("Select", (_FakeCh,), {})
Add = type("add", (_FakeCh,), {})


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_chumpy_arrays_become_numpy_without_chumpy(protocol):
    data = np.arange(24.0).reshape(2, 3, 4)
    leaf = Ch(x=data)
    # ch[:, :, :2] in chumpy: a Select over the leaf with flat indices and the sliced shape.
    sliced = Select(a=leaf, idxs=np.arange(24).reshape(2, 3, 4)[:, :, :2].ravel(), preferred_shape=(2, 3, 2))
    blob = _dump_with_fake_chumpy({"x": leaf, "s": sliced}, {"chumpy.ch.Ch": Ch, "chumpy.reordering.Select": Select}, protocol)
    assert b"chumpy" in blob and "chumpy" not in sys.modules
    out = safe_pickle.load(io.BytesIO(blob))
    np.testing.assert_array_equal(out["x"], data)
    np.testing.assert_array_equal(out["s"], data[:, :, :2])
    assert "chumpy" not in sys.modules


def test_chumpy_expressions_and_malformed_chumpy_are_refused():
    expression = Add(a=Ch(x=np.ones(3)), b=Ch(x=np.ones(3)))
    blob = _dump_with_fake_chumpy({"v": expression}, {"chumpy.ch.Ch": Ch, "chumpy.ch_ops.add": Add})
    with pytest.raises(safe_pickle.UnsafePickleError, match="chumpy.ch_ops.add"):
        safe_pickle.load(io.BytesIO(blob))
    blob = _dump_with_fake_chumpy({"v": Ch(y=np.ones(3))}, {"chumpy.ch.Ch": Ch})
    with pytest.raises(ValueError, match="chumpy.ch.Ch.*'x'"):
        safe_pickle.load(io.BytesIO(blob))


def test_tampered_sparse_indices_are_refused():
    matrix = sp.csc_matrix(np.eye(3))
    matrix.indices[0] = 7  # would write out of bounds in scipy's C++ toarray()
    with pytest.raises(ValueError, match="indices"):
        safe_pickle.load(io.BytesIO(pickle.dumps(matrix, protocol=2)))


def test_array_subclasses_and_other_codecs_are_refused():
    with pytest.raises(safe_pickle.UnsafePickleError, match="numpy.ma"):
        safe_pickle.load(io.BytesIO(pickle.dumps(np.ma.masked_array([1.0, 2.0]), protocol=2)))
    # _reconstruct(set, (0,), 'b'): an allowed name, but not an array class.
    not_an_array = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nc__builtin__\nset\nK\x00\x85X\x01\x00\x00\x00b\x87R."
    with pytest.raises(safe_pickle.UnsafePickleError, match="array of class <class 'set'>"):
        safe_pickle.load(io.BytesIO(not_an_array))
    codec = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x06\x00\x00\x00base64\x86R."
    with pytest.raises(safe_pickle.UnsafePickleError, match="base64"):
        safe_pickle.load(io.BytesIO(codec))


def test_load_takes_a_path_and_a_custom_allow_list(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"a": np.arange(3)}, protocol=2))
    np.testing.assert_array_equal(safe_pickle.load(path)["a"], np.arange(3))
    with pytest.raises(safe_pickle.UnsafePickleError, match="numpy._core.multiarray._reconstruct"):
        safe_pickle.load(str(path), allowed={})
