"""A tiny synthetic FLAME written the way real FLAME pickles are: chumpy ``Ch`` objects
for the dense arrays, a scipy sparse J_regressor, Python-2 module names, protocol 2.

chumpy is not installed: a stand-in ``chumpy.ch.Ch`` exists only while dumping, with
chumpy's pickled form (the instance __dict__ minus its caches, data under 'x').
"""

import pickle
import sys
import types

import numpy as np
import scipy.sparse as sp

N_SHAPE, N_EXPR = 300, 100


class _Ch:
    def __init__(self, x):
        self.__dict__.update({"_dirty_vars": set(), "_itr": None, "_depends_on_deps": {},
                              "_make_dense": False, "_make_sparse": False, "x": np.asarray(x)})  # fmt: skip


def synthetic_flame(rng: np.random.Generator, n: int = 60) -> dict:
    """Arrays of a small FLAME-like model: joints root, neck, jaw, left eye (+X), right eye."""
    template = rng.normal(size=(n, 3)) * 0.05
    weights = rng.dirichlet(np.ones(5) * 0.3, size=n)
    weights[-8:-4] = np.eye(5)[3]  # left eyeball, rigid
    weights[-4:] = np.eye(5)[4]  # right eyeball
    template[-8:-4] = template[-8:-4] * 0.1 + [0.03, 0.03, 0.05]
    template[-4:] = template[-4:] * 0.1 + [-0.03, 0.03, 0.05]
    regressor = np.zeros((5, n))
    for j, verts in enumerate([range(0, 6), range(6, 12), range(12, 18), range(n - 8, n - 4), range(n - 4, n)]):
        regressor[j, list(verts)] = 1 / len(verts)
    return {
        "v_template": template,
        "f": rng.integers(0, n, size=(2 * n, 3)).astype(np.uint32),
        "shapedirs": rng.normal(size=(n, 3, N_SHAPE + N_EXPR)) * 1e-3,
        "posedirs": rng.normal(size=(n, 3, 36)) * 1e-3,
        "J_regressor": sp.csc_matrix(regressor),
        "kintree_table": np.array([[2**32 - 1, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64),
        "weights": weights,
        "J": regressor @ template,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def write_flame_pickle(path, arrays: dict) -> None:
    chumpy = types.ModuleType("chumpy")
    chumpy_ch = types.ModuleType("chumpy.ch")
    _Ch.__module__, _Ch.__qualname__, _Ch.__name__ = "chumpy.ch", "Ch", "Ch"
    chumpy_ch.Ch = _Ch
    sys.modules.update({"chumpy": chumpy, "chumpy.ch": chumpy_ch})
    try:
        wrapped = {k: _Ch(v) if k in ("v_template", "shapedirs", "posedirs", "weights", "J") else v
                   for k, v in arrays.items()}  # fmt: skip
        data = pickle.dumps(wrapped, protocol=2)
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]
    # The names older numpy / scipy wrote into FLAME's files.
    data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray").replace(b"scipy.sparse._csc", b"scipy.sparse.csc")
    path.write_bytes(data)
