"""FLAME (Li et al. 2017) from a user's own licence-gated model file.

Reads ``generic_model.pkl`` / ``flame2023.pkl`` through the restricted unpickler (chumpy
objects become arrays; chumpy is never needed) or a ``.npz`` made by ``convert_flame``.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from stylemm.io import safe_pickle
from stylemm.facemodel.model import FaceModelArrays

FLAME_URL = "https://flame.is.tue.mpg.de"
GET_FLAME = f"FLAME is licence-gated: register at {FLAME_URL} and download it there"
# FLAME's documented shapedirs layout: 300 identity then 100 expression components.
SHAPE_DIM, EXPRESSION_DIM = 300, 100
# FLAME's joint order (smplx: global_orient, neck, jaw, leye, reye); the eyes are checked
# against their positions, since +X is the subject's left in FLAME's frame and ours.
JOINT_NAMES = ["global", "neck", "jaw", "left_eye", "right_eye"]
REQUIRED = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights")
NO_PARENT = 2**32 - 1  # kintree_table's root parent: -1 stored as an unsigned 32-bit int
# FLAME_masks.pkl region -> our part name (OpenHead's vocabulary); later entries win
# where regions overlap, and vertices in no region are scalp.
MASK_PARTS = [
    ("face", "face"), ("scalp", "scalp"), ("forehead", "face"), ("neck", "neck"),
    ("eye_region", "eyes"), ("nose", "nose"), ("lips", "mouth"),
    ("left_ear", "ears"), ("right_ear", "ears"),
    ("left_eyeball", "left_eyeball"), ("right_eyeball", "right_eyeball"),
]  # fmt: skip
MASK_PART_NAMES = ["scalp", "face", "eyes", "nose", "mouth", "ears", "neck", "left_eyeball", "right_eyeball"]


def load_flame(path, *, masks_path=None, texture_space_path=None) -> FaceModelArrays:
    """FLAME as FaceModelArrays: 300 shape / 100 expression components, 5 joints, pose correctives.

    masks_path: FLAME_masks.pkl for part labels (else head + eyeballs from the skinning);
    texture_space_path: FLAME_texture.npz for UVs when the model file has none.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no FLAME model at {path}. {GET_FLAME}")
    if path.suffix == ".npz":
        return _load_converted(path, masks_path, texture_space_path)
    content = _unpickle(path, "FLAME model")
    try:
        arrays = _from_pickle_dict(content, path.name)
    except safe_pickle.UnsafePickleError:
        raise
    except ValueError as e:
        raise ValueError(f"{path} is not a usable FLAME model: {e}") from e
    if texture_space_path is not None and len(arrays.uvs) == 0:
        arrays.uvs, arrays.uv_faces = _texture_space(Path(texture_space_path), len(arrays.faces))
    if masks_path is not None:
        arrays.part_labels, arrays.part_names = _mask_labels(Path(masks_path), len(arrays.template))
    return arrays


def convert_flame(pkl_path, npz_path, *, masks_path=None, texture_space_path=None) -> None:
    """Convert a FLAME pickle to a plain .npz (written atomically) that loads without pickle."""
    load_flame(pkl_path, masks_path=masks_path, texture_space_path=texture_space_path).save_npz(npz_path)


def _load_converted(path: Path, masks_path, texture_space_path) -> FaceModelArrays:
    if masks_path is not None or texture_space_path is not None:
        raise ValueError(f"{path} already holds its parts and UVs; pass masks/texture files to convert_flame instead")
    arrays = FaceModelArrays.load_npz(path)
    if arrays.name != "flame":
        raise ValueError(f"{path} holds the face model '{arrays.name}', not FLAME")
    return arrays


def _unpickle(path: Path, what: str):
    try:
        return safe_pickle.load(path)
    except safe_pickle.UnsafePickleError as e:
        raise safe_pickle.UnsafePickleError(f"{path}: {e}. Use the files from {FLAME_URL} as downloaded") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError, RecursionError) as e:  # fmt: skip
        raise ValueError(f"{path} is not a readable {what} pickle ({type(e).__name__}: {e}). {GET_FLAME}") from e


def _from_pickle_dict(d, source: str) -> FaceModelArrays:
    """Geometry, rig and (if the file has them) UVs; parts default to head + eyeballs."""
    if not isinstance(d, dict):
        raise ValueError(f"it holds a {type(d).__name__}, not FLAME's dict of arrays")
    missing = [k for k in REQUIRED if k not in d]
    if missing:
        raise ValueError(f"it lacks {missing} (has {sorted(d)}); is it a FLAME model file?")
    if d.get("bs_type", "lrotmin") != "lrotmin" or d.get("bs_style", "lbs") != "lbs":
        raise ValueError(f"its bs_type / bs_style are {d.get('bs_type')!r} / {d.get('bs_style')!r}, not FLAME's lrotmin / lbs")
    template = _floats(d, "v_template", (None, 3))
    n = len(template)
    faces = _indices(d, "f", (None, 3), n)
    parents = _parents(_indices(d, "kintree_table", (2, len(JOINT_NAMES)), NO_PARENT + 1, low=-1))
    j = len(parents)
    regressor = _floats(d, "J_regressor", (j, n))
    weights = _floats(d, "weights", (n, j))
    posedirs = _floats(d, "posedirs", (n, 3, 9 * (j - 1)))
    shapedirs = _floats(d, "shapedirs", (n, 3, None))
    if shapedirs.shape[2] != SHAPE_DIM + EXPRESSION_DIM:
        raise ValueError(
            f"shapedirs has {shapedirs.shape[2]} columns; FLAME has {SHAPE_DIM + EXPRESSION_DIM} "
            f"({SHAPE_DIM} shape + {EXPRESSION_DIM} expression)"
        )
    joint_names = _joint_names(regressor @ template)
    uvs, uv_faces = _uvs(d, len(faces)) if "vt" in d and "ft" in d else _NO_UVS
    part_labels, part_names = _eyeball_labels(weights, joint_names)
    return FaceModelArrays(
        name="flame",
        template=template.astype(np.float32),
        faces=faces.astype(np.int32),
        uvs=uvs,
        uv_faces=uv_faces,
        shapedirs=shapedirs[:, :, :SHAPE_DIM].transpose(2, 0, 1).astype(np.float32),
        exprdirs=shapedirs[:, :, SHAPE_DIM:].transpose(2, 0, 1).astype(np.float32),
        expression_names=[f"expression_{i:03d}" for i in range(EXPRESSION_DIM)],
        joint_regressor=regressor.astype(np.float32),
        parents=parents,
        joint_names=joint_names,
        lbs_weights=weights.astype(np.float32),
        part_labels=part_labels,
        part_names=part_names,
        # (N, 3, P) -> (P, N, 3): column p acts on feature p, the flattened (R_j - I) of
        # joints 1.. in order, which is how FaceModel builds its pose feature.
        posedirs=posedirs.transpose(2, 0, 1).astype(np.float32),
        metadata={"source": source},
    )


def _array(d: dict, key: str, shape: tuple) -> np.ndarray:
    value = d[key]
    try:
        a = np.asarray(value.toarray() if sp.issparse(value) else value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{key} is not an array ({type(value).__name__})") from e
    if a.ndim != len(shape) or any(want not in (None, got) for want, got in zip(shape, a.shape)):
        expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{key} has shape {a.shape}, FLAME's is {expected}")
    return a


def _floats(d: dict, key: str, shape: tuple) -> np.ndarray:
    a = _array(d, key, shape)
    if not (np.issubdtype(a.dtype, np.number) and np.isfinite(a).all()):
        raise ValueError(f"{key} must hold finite numbers (dtype {a.dtype})")
    return a.astype(np.float64)


def _indices(d: dict, key: str, shape: tuple, bound: int, low: int = 0) -> np.ndarray:
    a = _array(d, key, shape)
    if not np.issubdtype(a.dtype, np.integer) or a.size and (a.min() < low or a.max() >= bound):
        raise ValueError(f"{key} must hold integers in [{low}, {bound})")
    return a.astype(np.int64)


def _parents(kintree: np.ndarray) -> list[int]:
    """kintree_table: row 1 the joint ids, row 0 each joint's parent id."""
    column = {int(joint): c for c, joint in enumerate(kintree[1])}
    parents = [-1 if p in (NO_PARENT, -1) else column.get(int(p), -2) for p in kintree[0]]
    if parents[0] != -1 or any(not 0 <= p < c for c, p in enumerate(parents) if c):
        raise ValueError(f"kintree_table {kintree.tolist()} is not a tree rooted at its first joint, parents first")
    return parents


def _joint_names(rest_joints: np.ndarray) -> list[str]:
    left, right = JOINT_NAMES.index("left_eye"), JOINT_NAMES.index("right_eye")
    names = list(JOINT_NAMES)
    if rest_joints[left, 0] < rest_joints[right, 0]:  # the file's "left" eye is on the subject's right
        names[left], names[right] = names[right], names[left]
    return names


_NO_UVS = (np.zeros((0, 2), np.float32), np.zeros((0, 3), np.int32))  # geometry only: allowed


def _uvs(d: dict, n_faces: int) -> tuple[np.ndarray, np.ndarray]:
    vt = _floats(d, "vt", (None, 2)).astype(np.float32)
    ft = _indices(d, "ft", (n_faces, 3), len(vt))
    vt[:, 1] = 1 - vt[:, 1]  # OBJ-style origin bottom-left -> glTF top-left
    return vt, ft.astype(np.int32)


def _texture_space(path: Path, n_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """UVs from FLAME_texture.npz, for model files without vt / ft."""
    if not path.is_file():
        raise FileNotFoundError(f"no FLAME texture space at {path} (FLAME_texture.npz). {GET_FLAME}")
    try:
        with np.load(path, allow_pickle=False) as z:
            found = {k: z[k] for k in ("vt", "ft") if k in z.files}
        if len(found) != 2:
            raise ValueError("it has no 'vt' and 'ft'")
        return _uvs(found, n_faces)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a usable FLAME_texture.npz: {e}") from e


def _eyeball_labels(weights: np.ndarray, joint_names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Without masks: the eyeballs are the vertices skinned rigidly to an eye joint."""
    names = ["head", "left_eyeball", "right_eyeball"]
    labels = np.zeros(len(weights), np.int32)
    for eye in ("left_eye", "right_eye"):
        labels[weights[:, joint_names.index(eye)] > 0.999] = names.index(f"{eye}ball")
    return labels, names


def _mask_labels(path: Path, n: int) -> tuple[np.ndarray, list[str]]:
    if not path.is_file():
        raise FileNotFoundError(f"no FLAME masks at {path} (FLAME_masks.pkl). {GET_FLAME}")
    masks = _unpickle(path, "FLAME_masks")
    if not isinstance(masks, dict) or not any(region in masks for region, _ in MASK_PARTS):
        raise ValueError(f"{path} is not FLAME_masks.pkl: expected a dict of region -> vertex indices")
    labels = np.zeros(n, np.int32)
    try:
        for region, part in MASK_PARTS:
            if region in masks:
                labels[_indices(masks, region, (None,), n)] = MASK_PART_NAMES.index(part)
    except ValueError as e:
        raise ValueError(f"{path} does not fit this FLAME model ({n} vertices): {e}") from e
    return labels, list(MASK_PART_NAMES)
