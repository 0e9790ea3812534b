"""How close a fitted identity is to the one that made the picture: renders of the source
faces with known parameters (``stylemm.stylize.source``) and the vertex error of the fitted
neutral mesh against the true one.

The error is measured the way NoW measures single-image methods: on the face region
(face, nose, mouth, eye parts; not the scalp, ears and neck, which a frontal photo does
not show), after a similarity alignment (rotation, translation, scale). The scale has to
go: one photo cannot tell a larger head further away from a smaller one nearer, and the
raw error is reported beside it so that the part this hides stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stylemm.fit.landmark_fit import neutral_vertices
from stylemm_runtime.tracking.rotations import align

FACE_REGION = ("face", "nose", "mouth", "eyes")


@dataclass
class ShapeError:
    aligned_mm: float  # mean over the face region after a similarity alignment (NoW's protocol)
    raw_mm: float  # mean over the face region in the model's frame, no alignment
    all_raw_mm: float  # mean over every vertex, no alignment
    scale: float  # the alignment's scale: how much larger the true face is than the fitted one


def shape_error(model, fitted_shape, true_shape) -> ShapeError:
    """The fitted neutral mesh's error against the true identity's (both the source model's)."""
    fitted = neutral_vertices(model, fitted_shape).double().numpy()
    truth = neutral_vertices(model, true_shape).double().numpy()
    region = model.part_mask(*FACE_REGION).numpy()
    rotation, scale, translation = align(fitted[region], truth[region])
    aligned = fitted @ rotation.T * scale + translation
    distance = lambda a, b: np.linalg.norm(a - b, axis=1) * 1000  # noqa: E731
    return ShapeError(aligned_mm=float(distance(aligned, truth)[region].mean()), raw_mm=float(distance(fitted, truth)[region].mean()),
                      all_raw_mm=float(distance(fitted, truth).mean()), scale=float(scale))  # fmt: skip


def known_renders(model, pack, seed: int, count: int, size: int = 512):
    """``count`` source faces (random identity, expression, pose, texture and view) rendered
    at ``size`` with the project's renderer, their parameters known: SourceFaces."""
    from stylemm.stylize.source import SourceSampler

    return SourceSampler(model, pack.deformer, pack.texture_generator, size=size).sample(seed, range(count))
