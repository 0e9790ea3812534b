"""Calibration to the performer: neutral (what their resting face looks like to the
landmark detector) and, optionally, identity (the character's shape fitted to them).

Neutral calibration works in landmark space, not on the weights: while the performer
rests, the head pose is fitted with every expression held at 0, and each landmark's
remaining offset (back-projected into the head's frame) is added to the model's rest
landmarks. That removes at once the performer's resting expression, their difference in
build from the character, and the detector's own bias on their face, before the bounded
fit sees them; subtracting resting *weights* afterwards cannot undo a bias that the [0, 1]
bounds have already clipped.

Identity calibration (eos's linear shape fit, the metrical tracker's "fit the shape on
neutral frames, then freeze it"): the character's neutral landmarks are linear in its shape
near the current one (a finite-difference Jacobian of the bundle's deformer), so with the
poses fixed, shape is a ridge regression over the calibration frames with the N(0, I)
prior; the character is then re-baked with that shape and frozen.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from stylemm_runtime.tracking.landmark_model import Embedding, LandmarkModel
from stylemm_runtime.tracking.solver import FaceSolver


def neutral_offsets(solver: FaceSolver, frames: list[np.ndarray], rounds: int = 2, ridge: float = 0.05) -> LandmarkModel:
    """The solver's landmark model with its rest landmarks moved onto the performer's
    resting face, seen in ``frames`` ((L, 2 or 3) pixels each). Each landmark's offset is a
    least-squares fit over the frames in 3D; its depth is only seen where the head turned,
    and the ridge keeps it near 0 where it did not."""
    from stylemm_runtime.tracking.solver import _projection_jacobian

    if not frames:
        raise ValueError("neutral calibration needs at least one frame with a face")
    model, camera = solver.model, solver.camera
    still = np.zeros(len(model.expression_names), bool)
    for _ in range(rounds):
        normal = np.zeros((model.num_landmarks, 3, 3))
        right = np.zeros((model.num_landmarks, 3))
        for landmarks in frames:
            solver.reset()  # each frame solved to convergence (cold), not one warm step
            fit = solver.solve(landmarks, mask=still)
            points = model.points(fit.weights, fit.rotation, fit.translation)
            residual = landmarks[:, :2] - camera.project(points)  # pixels still unexplained
            through = _projection_jacobian(points, camera.focal) @ fit.rotation  # head-frame offsets -> pixels
            normal += np.einsum("lij,lik->ljk", through, through)
            right += np.einsum("lij,li->lj", through, residual)
        scale = np.trace(normal, axis1=1, axis2=2)[:, None, None] / 3
        offsets = np.linalg.solve(normal + ridge * scale * np.eye(3), right[..., None])[..., 0]
        model = replace(model, rest=model.rest + offsets)
        solver.model = model
    solver.reset()
    return model


def fit_shape(model, character, embedding, fits, frames: list[np.ndarray], camera, prior: float = 0.03,
              step: float = 0.5) -> np.ndarray:  # fmt: skip
    """A shape (K,) for ``character`` that puts its landmarks on the calibration ``frames``
    under the poses and weights of ``fits`` (solver.Fit per frame); ``prior`` weighs the
    N(0, I) prior against the landmark residuals (in inter-ocular distances)."""
    from stylemm_runtime.tracking.solver import _projection_jacobian
    from stylemm_runtime.tracking.topology import inter_ocular

    embedding = Embedding.of(embedding)
    k = model.shape_dim
    base = character.shape.astype(np.float32)
    probes = np.concatenate([base[None], base[None] + step * np.eye(k, dtype=np.float32)])
    zero = np.zeros((len(probes), len(model.expression_names)), np.float32)
    meshes = np.concatenate([model.deform(probes[i : i + 32], zero[i : i + 32]) for i in range(0, len(probes), 32)])
    points = embedding.points(meshes.astype(np.float64), np.asarray(model.faces))  # (K + 1, L, 3)
    jacobian_shape = (points[1:] - points[0]) / step  # (K, L, 3) unposed
    landmark_model = LandmarkModel.from_character(character, embedding)
    rows, targets = [], []
    for fit, landmarks in zip(fits, frames):
        posed = landmark_model.points(fit.weights, fit.rotation, fit.translation)
        scale = 1.0 / max(inter_ocular(landmarks), 1e-6)
        projection = _projection_jacobian(posed, camera.focal) * scale  # (L, 2, 3)
        through = projection @ fit.rotation  # head-frame displacements -> pixels (faces follow the neck fully)
        rows.append(np.einsum("lij,klj->lik", through, jacobian_shape).reshape(-1, k))
        targets.append(((landmarks[:, :2] - camera.project(posed)) * scale).reshape(-1))
    a, b = np.concatenate(rows), np.concatenate(targets)
    delta = np.linalg.solve(a.T @ a + prior * np.eye(k), a.T @ b - prior * base.astype(np.float64))
    return (base + delta).astype(np.float32)
