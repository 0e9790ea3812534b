"""Blend shapes and linear blend skinning in numpy: the runtime's reference path.

Same conventions as the C ABI (bindings/include/stylemm/stylemm.h) and as the
training side's torch code: morph targets stored one after another (K, N, 3);
skinning matrices = posed world transform with the rest position taken out.
"""

from __future__ import annotations

import numpy as np


def blend_shapes(template: np.ndarray, deltas: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """template (N, 3) + sum_k coeffs[k] * deltas[k] -> (N, 3)."""
    template, deltas, coeffs = _finite("template", template), _finite("deltas", deltas), _finite("coeffs", coeffs)
    _expect("template", template, (None, 3))
    _expect("deltas", deltas, (None, len(template), 3))
    _expect("coeffs", coeffs, (len(deltas),))
    return template + np.tensordot(coeffs, deltas, axes=1)


def rodrigues(axis_angle: np.ndarray) -> np.ndarray:
    """(J, 3) axis-angle -> (J, 3, 3) rotation matrices."""
    axis_angle = np.asarray(axis_angle, dtype=np.float64)
    angle = np.linalg.norm(axis_angle, axis=-1, keepdims=True)
    axis = np.divide(axis_angle, angle, out=np.zeros_like(axis_angle), where=angle > 0)
    x, y, z = np.moveaxis(axis, -1, 0)
    zero = np.zeros_like(x)
    skew = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*axis.shape[:-1], 3, 3)
    sin, cos = np.sin(angle)[..., None], np.cos(angle)[..., None]
    return np.eye(3) + sin * skew + (1 - cos) * (skew @ skew)


def joint_transforms(rest_joints: np.ndarray, parents, axis_angle: np.ndarray) -> np.ndarray:
    """Skinning matrices (J, 4, 4) of the chain posed by local axis-angle rotations (J, 3)."""
    rest_joints, axis_angle = _finite("rest_joints", rest_joints), _finite("axis_angle", axis_angle)
    _expect("rest_joints", rest_joints, (None, 3))
    n = len(rest_joints)
    _expect("axis_angle", axis_angle, (n, 3))
    parents = np.asarray(parents)
    if parents.shape != (n,) or parents[0] != -1 or any(not 0 <= parents[j] < j for j in range(1, n)):
        raise ValueError(f"parents must have {n} entries with parents[0] == -1 and 0 <= parents[j] < j, got {parents.tolist()}")
    rotations = rodrigues(axis_angle)
    world = np.zeros((n, 4, 4))
    for j in range(n):
        local = np.eye(4)
        local[:3, :3] = rotations[j]
        local[:3, 3] = rest_joints[j] - (rest_joints[parents[j]] if j else 0)
        world[j] = local if j == 0 else world[parents[j]] @ local
    world[:, :3, 3] -= np.einsum("jrc,jc->jr", world[:, :3, :3], rest_joints)
    return world


def skin(vertices: np.ndarray, weights: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Linear blend skinning: (N, 3) vertices, (N, J) weights, (J, 4, 4) transforms -> (N, 3)."""
    vertices, weights, transforms = _finite("vertices", vertices), _finite("weights", weights), _finite("transforms", transforms)
    _expect("vertices", vertices, (None, 3))
    _expect("weights", weights, (len(vertices), None))
    _expect("transforms", transforms, (weights.shape[1], 4, 4))
    blended = np.einsum("nj,jrc->nrc", weights, transforms[:, :3, :])
    return np.einsum("nrc,nc->nr", blended[:, :, :3], vertices) + blended[:, :, 3]


def _finite(name: str, value) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or Inf; pass finite numbers")
    return array


def _expect(name: str, array: np.ndarray, shape: tuple) -> None:
    if array.ndim != len(shape) or any(s is not None and a != s for a, s in zip(array.shape, shape)):
        wanted = ", ".join("n" if s is None else str(s) for s in shape)
        raise ValueError(f"{name} must have shape ({wanted}), got {array.shape}")
