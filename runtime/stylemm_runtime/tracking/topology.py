"""Facts of MediaPipe's 478-point face mesh that the tracker needs (indices from
mediapipe.python.solutions.face_mesh_connections, 0.10.14; written out so the solver
runs without MediaPipe installed). MediaPipe's "left" is the subject's left."""

from __future__ import annotations

import numpy as np

NUM_LANDMARKS = 478
# The outline of the face: a silhouette, so MediaPipe slides these along the surface as
# the head turns (the embedding errs most there); they get less say in the fit.
FACE_OVAL = [10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176, 234, 251,
             284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400, 454]  # fmt: skip
RIGHT_EYE = [7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246]
LEFT_EYE = [249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466]
RIGHT_IRIS = [468, 469, 470, 471, 472]  # centre first
LEFT_IRIS = [473, 474, 475, 476, 477]
RIGHT_BROW = [46, 52, 53, 55, 63, 65, 66, 70, 105, 107]
LEFT_BROW = [276, 282, 283, 285, 293, 295, 296, 300, 334, 336]
LIPS = [0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191, 267, 269,
        270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415]  # fmt: skip
# Eye corners (outer, inner) per eye: the inter-ocular distance that scales every residual.
EYE_CORNERS = {"right": (33, 133), "left": (263, 362)}
# Upper / lower lid midpoints per eye: their distance is how open the eye is.
EYELIDS = {"right": (159, 145), "left": (386, 374)}


def landmark_weights(oval: float = 0.3, eyes: float = 3.0, iris: float = 3.0, brows: float = 1.5, lips: float = 1.5,
                     interior_every: int = 1) -> np.ndarray:  # fmt: skip
    """(478,) weights of each landmark's residual: the features that carry expressions and
    gaze count more than the cheeks, and the sliding outline counts less. interior_every=n
    keeps only every n-th of the other (cheek, forehead, nose) points, at n times the weight:
    neighbours there say nearly the same, and the solver's time is proportional to the points."""
    weights = np.zeros(NUM_LANDMARKS)
    weights[::interior_every] = interior_every
    weights[FACE_OVAL] = oval
    weights[RIGHT_EYE + LEFT_EYE] = eyes
    weights[RIGHT_IRIS + LEFT_IRIS] = iris
    weights[RIGHT_BROW + LEFT_BROW] = brows
    weights[LIPS] = lips
    return weights


def inter_ocular(points: np.ndarray) -> float:
    """Distance between the two outer eye corners of (478, 2 or 3) points."""
    return float(np.linalg.norm(points[EYE_CORNERS["right"][0]] - points[EYE_CORNERS["left"][0]]))
