"""Rotation matrices <-> axis-angle (radians), as the runtime's pose convention uses them."""

from __future__ import annotations

import numpy as np

from stylemm_runtime.skinning import rodrigues


def exp(axis_angle) -> np.ndarray:
    """(3,) axis-angle -> (3, 3) rotation matrix."""
    return rodrigues(np.asarray(axis_angle, np.float64)[None])[0]


def log(rotation) -> np.ndarray:
    """(3, 3) rotation matrix -> (3,) axis-angle with angle in [0, pi]."""
    r = np.asarray(rotation, np.float64)
    skew = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]]) / 2  # sin(a) * axis
    cos = np.clip((np.trace(r) - 1) / 2, -1.0, 1.0)
    sin = np.linalg.norm(skew)
    angle = np.arctan2(sin, cos)
    if sin > 1e-6:
        return skew * (angle / sin)
    if cos > 0:  # near the identity: sin(a) ~ a
        return skew
    # Near a half turn the skew part vanishes; the axis is the dominant column of R + I.
    column = (r + np.eye(3))[:, np.argmax(np.diag(r))]
    return np.pi * column / np.linalg.norm(column)


def angle_between(a, b) -> float:
    """The angle (radians) of the rotation that takes rotation matrix a to b."""
    return float(np.linalg.norm(log(np.asarray(a).T @ np.asarray(b))))


def align(source: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None):
    """Weighted similarity Procrustes (Umeyama): rotation R, scale s and translation t with
    target ~ s R source + t for point sets (L, 3), the way MediaPipe's face geometry
    pipeline puts its canonical face onto the detected points."""
    w = np.ones(len(source)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mean_s, mean_t = w @ source, w @ target
    s0, t0 = source - mean_s, target - mean_t
    covariance = (t0 * w[:, None]).T @ s0
    u, sigma, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(sigma) @ sign) / (w @ (s0**2).sum(1))
    return rotation, scale, mean_t - scale * rotation @ mean_s
