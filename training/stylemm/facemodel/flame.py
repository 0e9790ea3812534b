"""FLAME (Li et al. 2017) from a user's own licence-gated model file.

Reads ``generic_model.pkl`` / ``flame2023.pkl`` through the restricted unpickler
(chumpy objects become arrays, chumpy itself is never needed) or a converted ``.npz``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from stylemm import safe_pickle
from stylemm.facemodel.model import FaceModelArrays

GET_FLAME = "FLAME is licence-gated: register at https://flame.is.tue.mpg.de and download it there"
SHAPE_DIM, EXPRESSION_DIM = 300, 100
REQUIRED = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights")
# FLAME_masks.pkl region -> our part name; later entries win where regions overlap.
MASK_PARTS = [
    ("face", "face"), ("scalp", "scalp"), ("forehead", "face"), ("neck", "neck"),
    ("eye_region", "eyes"), ("nose", "nose"), ("lips", "mouth"),
    ("left_ear", "ears"), ("right_ear", "ears"),
    ("left_eyeball", "left_eyeball"), ("right_eyeball", "right_eyeball"),
]  # fmt: skip
MASK_PART_NAMES = ["scalp", "face", "eyes", "nose", "mouth", "ears", "neck", "left_eyeball", "right_eyeball"]


def load_flame(path, *, masks_path=None, texture_space_path=None) -> FaceModelArrays:
    """FLAME as FaceModelArrays: 300 shape / 100 expression components, 5 joints, pose correctives."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no FLAME model at {path}. {GET_FLAME}")
    if path.suffix == ".npz":
        arrays = FaceModelArrays.load_npz(path)
        if arrays.name != "flame":
            raise ValueError(f"{path} holds the face model '{arrays.name}', not FLAME")
        return arrays
    return _from_pickle_dict(_read_pickle(path), path, masks_path, texture_space_path)


def convert_flame(pkl_path, npz_path, **options) -> None:
    """Convert a FLAME pickle into a plain .npz (written atomically) that loads without pickle."""
    load_flame(pkl_path, **options).save_npz(npz_path)


def _read_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            content = safe_pickle.load(f)
    except safe_pickle.UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise ValueError(f"{path} is not a readable FLAME pickle ({type(e).__name__}: {e}). {GET_FLAME}") from e
    if not isinstance(content, dict):
        raise ValueError(f"{path} does not hold a FLAME model (a dict of arrays), but {type(content).__name__}")
    return content


def _from_pickle_dict(d: dict, path: Path, masks_path, texture_space_path) -> FaceModelArrays:
    missing = [k for k in REQUIRED if k not in d]
    if missing:
        raise ValueError(f"{path} is missing FLAME arrays {missing}; is it a FLAME model file? {GET_FLAME}")
    template = np.asarray(d["v_template"], dtype=np.float64)
    n = len(template)
    shapedirs = np.asarray(d["shapedirs"], dtype=np.float64)  # (N, 3, 400)
    if shapedirs.shape[:2] != (n, 3) or shapedirs.shape[2] != SHAPE_DIM + EXPRESSION_DIM:
        raise ValueError(
            f"{path}: shapedirs has shape {shapedirs.shape}; FLAME has (N, 3, {SHAPE_DIM + EXPRESSION_DIM}) "
            f"= {SHAPE_DIM} shape + {EXPRESSION_DIM} expression components"
        )
    parents = np.asarray(d["kintree_table"], dtype=np.int64)[0].copy()
    parents[0] = -1  # stored as 2**32 - 1
    weights = np.asarray(d["weights"], dtype=np.float64)
    regressor = np.asarray(d["J_regressor"], dtype=np.float64)
    rest_joints = regressor @ template
    uvs, uv_faces = _uvs(d, texture_space_path)
    joint_names = _joint_names(rest_joints)
    part_labels, part_names = _parts(weights, joint_names, masks_path)
    return FaceModelArrays(
        name="flame",
        template=template.astype(np.float32),
        faces=np.asarray(d["f"], dtype=np.int32),
        uvs=uvs,
        uv_faces=uv_faces,
        shapedirs=shapedirs[:, :, :SHAPE_DIM].transpose(2, 0, 1).astype(np.float32),
        exprdirs=shapedirs[:, :, SHAPE_DIM:].transpose(2, 0, 1).astype(np.float32),
        expression_names=[f"expression_{i:03d}" for i in range(EXPRESSION_DIM)],
        joint_regressor=regressor.astype(np.float32),
        parents=[int(p) for p in parents],
        joint_names=joint_names,
        lbs_weights=weights.astype(np.float32),
        part_labels=part_labels,
        part_names=part_names,
        # FLAME's (N, 3, P) correctives act on the flattened (R_j - I) of joints 1.. in order.
        posedirs=np.asarray(d["posedirs"], dtype=np.float64).transpose(2, 0, 1).astype(np.float32),
        metadata={"source": path.name},
    )


def _joint_names(rest_joints: np.ndarray) -> list[str]:
    """FLAME's joints are root, neck, jaw and the two eyes; the eye at +X is the subject's left."""
    if len(rest_joints) != 5:
        raise ValueError(f"FLAME has 5 joints (root, neck, jaw, two eyes), this file has {len(rest_joints)}")
    left_first = rest_joints[3, 0] > rest_joints[4, 0]
    return ["global", "neck", "jaw", *(["left_eye", "right_eye"] if left_first else ["right_eye", "left_eye"])]


def _uvs(d: dict, texture_space_path) -> tuple[np.ndarray, np.ndarray]:
    """UVs from the model file, else from FLAME_texture.npz, else none (geometry only)."""
    source = d
    if ("vt" not in d or "ft" not in d) and texture_space_path is not None:
        with np.load(texture_space_path, allow_pickle=False) as z:
            source = {k: z[k] for k in ("vt", "ft") if k in z.files}
    if "vt" not in source or "ft" not in source:
        return np.zeros((0, 2), np.float32), np.zeros((0, 3), np.int32)
    vt = np.asarray(source["vt"], dtype=np.float32).copy()
    vt[:, 1] = 1 - vt[:, 1]  # OBJ-style origin bottom-left -> glTF top-left
    return vt, np.asarray(source["ft"], dtype=np.int32)


def _parts(weights: np.ndarray, joint_names: list[str], masks_path) -> tuple[np.ndarray, list[str]]:
    """Regions from FLAME_masks.pkl when given; otherwise head, and eyeballs from the skinning."""
    n = len(weights)
    if masks_path is not None:
        with open(masks_path, "rb") as f:
            masks = safe_pickle.load(f)
        labels = np.zeros(n, np.int32)  # scalp unless a region says otherwise
        for region, part in MASK_PARTS:
            if region in masks:
                labels[np.asarray(masks[region], dtype=np.int64)] = MASK_PART_NAMES.index(part)
        return labels, list(MASK_PART_NAMES)
    names = ["head", "left_eyeball", "right_eyeball"]
    labels = np.zeros(n, np.int32)
    for eye in ("left_eye", "right_eye"):
        labels[weights[:, joint_names.index(eye)] > 0.99] = names.index(f"{eye}ball")
    return labels, names
