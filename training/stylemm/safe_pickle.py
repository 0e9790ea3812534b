"""A restricted unpickler for the few pickled model files we must read (FLAME).

Unpickling can run arbitrary code; this one resolves only an allow-list of classes,
each to a harmless stand-in, and refuses everything else before it can run.
Python-2 pickles (FLAME's) are read with latin1 so their numpy buffers survive.
"""

from __future__ import annotations

import codecs
import copyreg
import pickle
from typing import BinaryIO

import numpy as np


class UnsafePickleError(ValueError):
    """The pickle asked for something outside the allow-list."""


class ChumpyArray:
    """Stand-in for chumpy's ``Ch``: chumpy pickles a plain Ch as its ``__dict__``,
    whose ``x`` entry is the numpy array we want. Anything computed (chumpy
    operations) has no ``x`` and is refused when converted."""

    def __setstate__(self, state: dict) -> None:
        self.state = state

    def to_array(self) -> np.ndarray:
        if "x" not in getattr(self, "state", {}):
            raise UnsafePickleError("a chumpy object without stored data ('x'); re-save the file with plain arrays")
        return np.asarray(self.state["x"])


class SparseMatrix:
    """Stand-in for a scipy.sparse compressed matrix, rebuilt from its stored arrays."""

    layout = "csc"

    def __setstate__(self, state: dict) -> None:
        self.state = state

    def to_array(self) -> np.ndarray:
        import scipy.sparse as sp

        s = self.state
        shape = tuple(s["_shape"] if "_shape" in s else s["shape"])
        build = sp.csc_matrix if self.layout == "csc" else sp.csr_matrix
        return build((s["data"], s["indices"], s["indptr"]), shape=shape).toarray()


class CscMatrix(SparseMatrix):
    layout = "csc"


class CsrMatrix(SparseMatrix):
    layout = "csr"


def _reconstruct(cls, shape, dtype):
    """numpy's array reconstructor, limited to plain ndarrays."""
    if cls is not np.ndarray:
        raise UnsafePickleError(f"refusing to reconstruct an array of class {cls!r}")
    return np.ndarray.__new__(cls, shape, dtype)


def _scalar(dtype, data=None):
    return np.frombuffer(data.encode("latin1") if isinstance(data, str) else data, dtype=dtype)[0]


# Pickle name -> what it resolves to. Python-2 names first, then current ones.
_ALLOWED = {
    ("copy_reg", "_reconstructor"): copyreg._reconstructor,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,
    # Python 3 writes bytes in protocol-2 pickles as _codecs.encode(text, "latin1").
    ("_codecs", "encode"): codecs.encode,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    # chumpy's state holds an empty set of dirty variables.
    ("__builtin__", "set"): set,
    ("builtins", "set"): set,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("chumpy.ch", "Ch"): ChumpyArray,
    ("scipy.sparse.csc", "csc_matrix"): CscMatrix,
    ("scipy.sparse._csc", "csc_matrix"): CscMatrix,
    ("scipy.sparse.csr", "csr_matrix"): CsrMatrix,
    ("scipy.sparse._csr", "csr_matrix"): CsrMatrix,
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name} from a pickle: only numpy arrays, "
                "scipy sparse matrices and chumpy arrays are allowed"
            ) from None


def load(file: BinaryIO):
    """Unpickle with the allow-list, then turn every stand-in into a numpy array."""
    return _to_arrays(RestrictedUnpickler(file, encoding="latin1").load())


def _to_arrays(value):
    if isinstance(value, (ChumpyArray, SparseMatrix)):
        return value.to_array()
    if isinstance(value, dict):
        return {k: _to_arrays(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_arrays(v) for v in value)
    return value
