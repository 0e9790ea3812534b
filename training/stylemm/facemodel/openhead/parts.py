"""Per-vertex part labels for OpenHead, derived from what moves each vertex.

MakeHuman's local targets are authored per feature (nose targets move the nose, ear
targets the ears), and its face units move exactly the expressive face, so their
supports give the regions without any hand-painted mask.
"""

from __future__ import annotations

import numpy as np

from stylemm.facemodel.openhead.assets import MakeHumanData, read_target

PART_NAMES = ["scalp", "face", "eyes", "nose", "mouth", "ears", "neck",
              "left_eyeball", "right_eyeball", "teeth", "tongue"]  # fmt: skip
FEATURE_FOLDERS = {"eyes": "eyes", "nose": "nose", "mouth": "mouth", "ears": "ears"}
# A vertex belongs to a feature if that feature's targets move it by at least this
# fraction of their largest movement.
FEATURE_THRESHOLD = 0.25
FACE_THRESHOLD = 1e-3  # decimetres (0.1 mm) of movement by any face unit


def part_labels(data: MakeHumanData, vertices: np.ndarray, vertex_submesh: np.ndarray, head_fraction: np.ndarray) -> np.ndarray:
    """(n,) index into PART_NAMES.

    head_fraction: each vertex's share of rig weight from the head's bones; vertices
    that mostly follow the neck bones are neck.
    """
    n_base = len(data.base_mesh.vertices)
    labels = np.full(len(vertices), PART_NAMES.index("scalp"))
    face_motion = sum(np.linalg.norm(read_target(p, n_base)[vertices], axis=1) for p in data.face_unit_paths())
    labels[face_motion > FACE_THRESHOLD] = PART_NAMES.index("face")
    strength = np.stack([_support(data, folder, vertices) for folder in FEATURE_FOLDERS.values()])
    strongest = strength.argmax(0)
    is_feature = strength.max(0) >= FEATURE_THRESHOLD
    for k, part in enumerate(FEATURE_FOLDERS):
        labels[is_feature & (strongest == k)] = PART_NAMES.index(part)
    labels[head_fraction < 0.5] = PART_NAMES.index("neck")
    for part in ("left_eyeball", "right_eyeball", "teeth", "tongue"):
        labels[vertex_submesh == part] = PART_NAMES.index(part)
    return labels


def _support(data: MakeHumanData, folder: str, vertices: np.ndarray) -> np.ndarray:
    """Per vertex, the largest movement by any target of the folder, over its maximum."""
    n_base = len(data.base_mesh.vertices)
    motion = np.max([np.linalg.norm(read_target(p, n_base)[vertices], axis=1) for p in data.target_paths(folder)], axis=0)
    return motion / motion.max()
