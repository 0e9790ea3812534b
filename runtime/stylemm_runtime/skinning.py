"""Blend shapes and linear blend skinning in numpy: the runtime's reference path.

The native core (``stylemm_runtime._native``, C ABI in bindings/include/stylemm/stylemm.h)
computes the same things in float32 and is tested against these functions; the training
side's torch code (``stylemm.facemodel.lbs``) follows the same SMPL / FLAME convention.
Everything here computes and returns float64. Inputs are checked like the native core's
(shapes, finite values, the parents order), with errors that name the argument and the
expected form; unlike the native core, the deltas are scanned for NaN / Inf too, since
speed is not this module's purpose.
"""

from __future__ import annotations

import numpy as np


def blend_shapes(template, deltas, coeffs) -> np.ndarray:
    """template (N, 3) + sum_k coeffs[k] * deltas[k] -> (N, 3).

    deltas are (K, N, 3): each morph target is contiguous, as engines store them.
    """
    template = _real("template", template, ("N", 3))
    deltas = _real("deltas", deltas, ("K", len(template), 3))
    coeffs = _real("coeffs", coeffs, (len(deltas),))
    return template + np.tensordot(coeffs, deltas, axes=1)


def rodrigues(axis_angle) -> np.ndarray:
    """(J, 3) axis-angle (axis times angle in radians) -> (J, 3, 3) rotation matrices."""
    axis_angle = _real("axis_angle", axis_angle, ("J", 3))
    angle = np.linalg.norm(axis_angle, axis=1)[:, None, None]
    x, y, z = axis_angle.T
    zero = np.zeros_like(x)
    # Skew matrix of the unscaled vector, with sin(a)/a and (1 - cos a)/a^2 as factors:
    # no division by the angle, so the zero rotation needs no special case.
    skew = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], 1).reshape(-1, 3, 3)
    half = angle / 2
    sinc = np.sinc(angle / np.pi)  # sin(a) / a, 1 at 0
    versine = 0.5 * np.sinc(half / np.pi) ** 2  # (1 - cos a) / a^2 = 2 sin^2(a/2) / a^2
    return np.eye(3) + sinc * skew + versine * (skew @ skew)


def joint_transforms(rest_joints, parents, rotations) -> np.ndarray:
    """Skinning matrices (J, 4, 4) of a joint chain posed by local rotations (J, 3, 3).

    rest_joints (J, 3); parents (J,) signed integers, parents[0] == -1 and 0 <= parents[j] < j.
    Joint j's local transform is [R_j | rest_j - rest_parent(j)]; its world transform G_j is
    the parent's times that; the skinning matrix is G_j with the rest position taken out
    (translation minus G_j[:3, :3] @ rest_j), so it maps rest-pose points to posed ones.
    """
    rest_joints = _real("rest_joints", rest_joints, ("J", 3))
    n = len(rest_joints)
    parents = _parents(parents, n)
    rotations = _real("rotations", rotations, (n, 3, 3))
    world = np.zeros((n, 4, 4))
    for j in range(n):  # parents come first, so one pass in index order walks the chain
        local = np.eye(4)
        local[:3, :3] = rotations[j]
        local[:3, 3] = rest_joints[j] - (rest_joints[parents[j]] if j else 0.0)
        world[j] = local if j == 0 else world[parents[j]] @ local
    world[:, :3, 3] -= np.einsum("jrc,jc->jr", world[:, :3, :3], rest_joints)
    return world


def skin(vertices, weights, transforms) -> np.ndarray:
    """Linear blend skinning: vertices (N, 3), weights (N, J), transforms (J, 4, 4) -> (N, 3).

    Each weight row should sum to 1. That is not checked here (nor in the native core):
    it is a property of the asset, checked once when it is loaded, not on every frame.
    """
    vertices = _real("vertices", vertices, ("N", 3))
    weights = _real("weights", weights, (len(vertices), "J"))
    transforms = _real("transforms", transforms, (weights.shape[1], 4, 4))
    blended = np.einsum("nj,jrc->nrc", weights, transforms[:, :3, :])
    return np.einsum("nrc,nc->nr", blended[:, :, :3], vertices) + blended[:, :, 3]


def _real(name: str, value, shape: tuple) -> np.ndarray:
    """value as float64 of the given shape (ints for fixed sizes, letters for free ones), all finite."""
    array = np.asarray(value)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    _expect_shape(name, array, shape)
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or Inf; pass finite numbers")
    return array


def _parents(value, n: int) -> np.ndarray:
    parents = np.asarray(value)
    if parents.dtype.kind != "i":  # signed: the root's parent is -1
        raise ValueError(
            f"parents must be a signed integer array (joint indices, -1 for the root), got dtype {parents.dtype}"
        )
    _expect_shape("parents", parents, (n,))
    if n and (parents[0] != -1 or any(not 0 <= parents[j] < j for j in range(1, n))):
        raise ValueError(
            f"parents must satisfy parents[0] == -1 and 0 <= parents[j] < j (parents come first), "
            f"got {parents.tolist()}"
        )
    return parents


def _expect_shape(name: str, array: np.ndarray, shape: tuple) -> None:
    if array.ndim != len(shape) or any(isinstance(s, int) and a != s for a, s in zip(array.shape, shape)):
        wanted = ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "")
        raise ValueError(f"{name} must have shape ({wanted}), got {array.shape}")
