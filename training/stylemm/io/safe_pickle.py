"""A restricted unpickler for the few pickled model files we must read (FLAME, its masks).

Unpickling calls whatever the file names. This unpickler resolves names only through an
allow-list, each to a harmless replacement, and refuses anything else before it can run.
Python-2 pickles (FLAME's) are read with latin1 so their byte strings (numpy buffers)
come back byte for byte. chumpy is never imported: its objects become numpy arrays.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Mapping

import numpy as np


class UnsafePickleError(ValueError):
    """The pickle names something outside the allow-list."""


class _StandIn:
    """Receives a pickled object's state (BUILD) and turns it into plain data afterwards."""

    def __setstate__(self, state) -> None:
        if not isinstance(state, dict):
            raise ValueError(f"malformed {self.pickled_as} in pickle: its state is not a dict")
        self.state = state

    def term(self, key: str):
        try:
            value = self.state[key]
        except (AttributeError, KeyError):
            raise ValueError(f"malformed {self.pickled_as} in pickle: no '{key}'") from None
        return value.value() if isinstance(value, _StandIn) else value


# chumpy pickles every object the same way: NEWOBJ(class), then BUILD with the instance
# __dict__ minus its weak-reference caches (Ch.__getstate__). Terms are entries of that
# dict: a plain Ch holds its data in 'x'; operations hold their operands.
class ChumpyCh(_StandIn):
    pickled_as = "chumpy.ch.Ch"

    def value(self) -> np.ndarray:
        return np.asarray(self.term("x"))


class ChumpySelect(_StandIn):
    """What chumpy makes of ``ch[...]`` (e.g. MANO's shapedirs): flat indices into 'a'."""

    pickled_as = "chumpy.reordering.Select"

    def value(self) -> np.ndarray:
        picked = np.asarray(self.term("a")).ravel()[np.asarray(self.term("idxs"))]
        shape = self.state.get("preferred_shape")
        return picked if shape is None else picked.reshape(shape)


class _SparseMatrix(_StandIn):
    """A scipy.sparse compressed matrix, rebuilt from its stored arrays."""

    def value(self):
        import scipy.sparse as sp

        build = sp.csc_matrix if self.pickled_as.endswith("csc_matrix") else sp.csr_matrix
        arrays = tuple(np.asarray(self.term(k)) for k in ("data", "indices", "indptr"))
        shape = self.term("_shape" if "_shape" in self.state else "shape")  # older scipy: 'shape'
        matrix = build(arrays, shape=tuple(shape))
        # The constructor does not bounds-check indices; scipy's C++ kernels trust them.
        matrix.check_format(full_check=True)
        return matrix


class CscMatrix(_SparseMatrix):
    pickled_as = "scipy.sparse csc_matrix"


class CsrMatrix(_SparseMatrix):
    pickled_as = "scipy.sparse csr_matrix"


def _reconstruct(cls, shape, dtype):
    """numpy's array reconstructor, limited to plain ndarrays (no subclasses' code)."""
    if cls is not np.ndarray:
        raise UnsafePickleError(f"refusing to reconstruct an array of class {cls!r}")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _frombuffer(buffer, dtype, shape, order):
    """numpy's protocol-5 array form; frombuffer refuses object dtypes."""
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).copy()


def _scalar(dtype, data):
    """numpy's scalar form: raw bytes (a latin1 str in Python-2 pickles)."""
    return np.frombuffer(data.encode("latin1") if isinstance(data, str) else data, dtype=dtype)[0]


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """How Python 3 writes bytes into a protocol-2 pickle: _codecs.encode(text, 'latin1')."""
    if encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _reconstructor(cls, base, state):
    """copy_reg._reconstructor (protocol 0/1 objects), for our stand-ins only."""
    if base is not object or not (isinstance(cls, type) and issubclass(cls, _StandIn)):
        raise UnsafePickleError(f"refusing to reconstruct {cls!r} on {base!r}")
    return object.__new__(cls)


# (module, name) as written in the pickle -> what it resolves to. Python-2 names too:
# FLAME's files were written by Python 2 with numpy.core / scipy.sparse.csc.
FLAME_ALLOWED: Mapping[tuple[str, str], Callable] = {
    **{(m, "_reconstructor"): _reconstructor for m in ("copy_reg", "copyreg")},
    **{(m, name): value for m in ("__builtin__", "builtins")
       for name, value in (("object", object), ("set", set), ("bytes", bytes))},
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(f"numpy.{core}.multiarray", "_reconstruct"): _reconstruct for core in ("core", "_core")},
    **{(f"numpy.{core}.multiarray", "scalar"): _scalar for core in ("core", "_core")},
    **{(f"numpy.{core}.numeric", "_frombuffer"): _frombuffer for core in ("core", "_core")},
    ("chumpy.ch", "Ch"): ChumpyCh,
    ("chumpy.reordering", "Select"): ChumpySelect,
    **{(f"scipy.sparse.{m}", "csc_matrix"): CscMatrix for m in ("csc", "_csc")},
    **{(f"scipy.sparse.{m}", "csr_matrix"): CsrMatrix for m in ("csr", "_csr")},
}  # fmt: skip


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, allowed: Mapping[tuple[str, str], Callable] = FLAME_ALLOWED):
        super().__init__(file, encoding="latin1")
        self.allowed = allowed

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            hint = (
                "only stored chumpy arrays (Ch, Select) are read, not chumpy expressions"
                if module.startswith("chumpy")
                else "only numpy arrays, scipy sparse matrices and chumpy arrays are allowed"
            )
            raise UnsafePickleError(f"refusing to load {module}.{name} from a pickle: {hint}") from None


def load(source, allowed: Mapping[tuple[str, str], Callable] = FLAME_ALLOWED):
    """Unpickle a path or binary file with the allow-list; stand-ins come back as
    numpy arrays (chumpy) and scipy sparse matrices."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            return load(f, allowed)
    return _resolve(RestrictedUnpickler(source, allowed).load())


def _resolve(value):
    if isinstance(value, _StandIn):
        return value.value()
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(v) for v in value)
    return value
