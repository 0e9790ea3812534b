"""The character's expression model at the embedded landmarks: what the solver fits.

A bundle character is baked into morph targets (stylemm_runtime.baking): a neutral mesh
plus one delta per expression. MediaPipe's 478 landmarks are fixed surface points
(triangle + barycentrics), so at the landmarks the model is linear in the weights:
p(w) = rest + sum_k w_k basis_k. The head pose is the ``neck`` joint's rotation about its
rest position; each landmark follows it with its skin weight on the neck and the joints
under it (the rest hangs on ``global``, which the tracker leaves at rest), exactly as
``character.mesh(pose={"neck": ...})`` skins it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

HEAD_JOINT = "neck"


@dataclass(frozen=True)
class Embedding:
    """Landmarks as surface points: triangle index (L,) and barycentric weights (L, 3)."""

    triangles: np.ndarray
    barycentrics: np.ndarray

    @classmethod
    def of(cls, value) -> Embedding:
        """From a bundle's ``Model.landmarks``, the training side's LandmarkEmbedding
        (``.weights``) or a (triangles, barycentrics) pair."""
        if isinstance(value, Embedding):
            return value
        if isinstance(value, tuple) and len(value) == 2:
            triangles, barycentrics = value
        else:
            triangles = value.triangles
            barycentrics = getattr(value, "barycentrics", None)
            barycentrics = value.weights if barycentrics is None else barycentrics
        triangles, barycentrics = np.asarray(triangles, np.int64), np.asarray(barycentrics, np.float64)
        if triangles.ndim != 1 or barycentrics.shape != (len(triangles), 3):
            raise ValueError(f"a landmark embedding is triangles (L,) and barycentrics (L, 3), got {triangles.shape} "
                             f"and {barycentrics.shape}")  # fmt: skip
        return cls(triangles, barycentrics)

    def points(self, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """(..., N, 3) vertices -> (..., L, 3) landmark positions."""
        corners = vertices[..., faces[self.triangles], :]  # (..., L, 3 corners, 3)
        return np.einsum("...lkc,lk->...lc", corners, self.barycentrics)


@dataclass(frozen=True)
class LandmarkModel:
    """p(w) = rest + basis^T w at the landmarks, posed about ``pivot`` with ``head_weight``."""

    rest: np.ndarray  # (L, 3) neutral landmarks, metres, unposed
    basis: np.ndarray  # (E, L, 3) landmark deltas per expression unit
    pivot: np.ndarray  # (3,) the neck joint's rest position: the head turns about it
    head_weight: np.ndarray  # (L,) how much each landmark follows the neck joint (1 on the face)
    expression_names: tuple[str, ...]

    @classmethod
    def from_character(cls, character, embedding, detector: str | None = "mediapipe") -> LandmarkModel:
        """The landmark model of a runtime Character (baked on the spot when it is not).
        detector: add that detector's response (see ``detector_response``) when one ships
        for this mesh; None for the true geometry."""
        from stylemm_runtime import baking

        model = character.model
        morphs = character.morphs if character.morphs is not None else baking.bake(model, character.shape)
        landmarks = cls.from_morphs(model, morphs.neutral, morphs.deltas, character.rest_joints, embedding)
        response = None if detector is None else detector_response(model, detector)
        if response is None:
            return landmarks
        basis, rest = response
        return replace(landmarks, basis=landmarks.basis + basis, rest=landmarks.rest + rest)

    @classmethod
    def from_morphs(cls, model, neutral, deltas, rest_joints, embedding) -> LandmarkModel:
        embedding = Embedding.of(embedding)
        if embedding.triangles.min() < 0 or embedding.triangles.max() >= len(model.faces):
            raise ValueError(f"the landmark embedding indexes triangles outside 0..{len(model.faces) - 1}: it was made "
                             "for another mesh; re-export the bundle with stylemm-export")  # fmt: skip
        if HEAD_JOINT not in model.joint_names:
            raise ValueError(f"the tracker turns the head with the '{HEAD_JOINT}' joint; this bundle has {model.joint_names}")
        faces = np.asarray(model.faces)
        head = _joint_and_descendants(model.parents, model.joint_names.index(HEAD_JOINT))
        weight = embedding.points(np.asarray(model.skin_weights, np.float64)[:, head].sum(1, keepdims=True), faces)[:, 0]
        return cls(rest=embedding.points(np.asarray(neutral, np.float64), faces),
                   basis=embedding.points(np.asarray(deltas, np.float64), faces),
                   pivot=np.asarray(rest_joints, np.float64)[model.joint_names.index(HEAD_JOINT)],
                   head_weight=weight, expression_names=tuple(model.expression_names))  # fmt: skip

    @property
    def num_landmarks(self) -> int:
        return len(self.rest)

    def points(self, weights: np.ndarray, rotation: np.ndarray | None = None, translation=None) -> np.ndarray:
        """(L, 3) landmarks for weights (E,), posed by the head rotation (3, 3) and moved by
        ``translation`` (3,): what character.mesh(weights, pose={"neck": ...}) + translation
        gives at the landmarks."""
        unposed = self.rest + np.tensordot(weights, self.basis, axes=1)
        if rotation is None:
            posed = unposed
        else:
            turned = (unposed - self.pivot) @ np.asarray(rotation).T + self.pivot
            posed = self.head_weight[:, None] * turned + (1 - self.head_weight[:, None]) * unposed
        return posed if translation is None else posed + translation


def _joint_and_descendants(parents, joint: int) -> np.ndarray:
    """Indices of ``joint`` and every joint below it (parents come before children)."""
    inside = np.zeros(len(parents), bool)
    inside[joint] = True
    for j in range(joint + 1, len(parents)):
        inside[j] = inside[parents[j]]
    return np.flatnonzero(inside)


def detector_response(model, detector: str = "mediapipe") -> tuple[np.ndarray, np.ndarray] | None:
    """How ``detector``'s points differ from the surface points they are embedded as, for a
    bundle whose mesh and expressions match a shipped response (``<source>_<detector>_response.npz``
    beside this module, written by samples/tracking/detector_response.py): (E, L, 3) extra
    displacement per unit of each expression and (L, 3) where its neutral points sit in 3D
    relative to the surface; None when none matches."""
    digest = hashlib.sha256(np.ascontiguousarray(np.asarray(model.faces).astype(np.int64)).tobytes()).hexdigest()
    for path in sorted(Path(__file__).parent.glob(f"*_{detector}_response.npz")):
        with np.load(path, allow_pickle=False) as z:
            if str(z["faces_sha256"]) == digest and list(z["names"]) == list(model.expression_names):
                basis = z["correction"].astype(np.float64)
                rest = z["rest_correction"].astype(np.float64) if "rest_correction" in z.files else np.zeros(basis.shape[1:])
                return basis, rest
    return None
