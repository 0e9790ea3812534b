"""Box-constrained least squares in numpy: the tracker's expression fit, without scipy.

``solve_box_qp`` minimises 0.5 x'Hx - c'x subject to lower <= x <= upper for a small dense
symmetric positive-definite H (the Gauss-Newton normal equations of a fit), by a primal
active-set method: solve on the free variables, step to the first bound that blocks, free
the bound variables whose multipliers have the wrong sign, repeat. Each pass lowers the
objective, so the working sets never repeat and it ends at the exact optimum (the KKT
point), typically in a few passes when warm-started from the previous frame's answer.
Infinite bounds are allowed (unbounded variables such as the head pose).
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 1e-10


def bounded_least_squares(a, b, lower, upper, x0=None, max_passes: int | None = None) -> np.ndarray:
    """argmin ||a x - b||^2 subject to lower <= x <= upper (a: (M, K), b: (M,))."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.shape != (a.shape[0],):
        raise ValueError(f"a must be (M, K) and b (M,), got {a.shape} and {b.shape}")
    return solve_box_qp(a.T @ a, a.T @ b, lower, upper, x0, max_passes)


def solve_box_qp(h, c, lower, upper, x0=None, max_passes: int | None = None) -> np.ndarray:
    """argmin 0.5 x'hx - c'x subject to lower <= x <= upper, h (K, K) positive definite."""
    h, c = np.asarray(h, np.float64), np.asarray(c, np.float64)
    k = len(c)
    if h.shape != (k, k):
        raise ValueError(f"h must be ({k}, {k}) to match c, got {h.shape}")
    lower = np.broadcast_to(np.asarray(lower, np.float64), (k,))
    upper = np.broadcast_to(np.asarray(upper, np.float64), (k,))
    if np.any(lower > upper):
        raise ValueError("every lower bound must be <= its upper bound")
    x = np.clip(np.zeros(k) if x0 is None else np.asarray(x0, np.float64), lower, upper)
    gradient = h @ x - c
    # Start with the bounds the gradient pushes against (a warm start's active set).
    at_lower = (x <= lower) & (gradient > 0)
    at_upper = (x >= upper) & (gradient < 0)
    for _ in range(max_passes or 4 * k + 10):
        fixed = at_lower | at_upper
        free = ~fixed
        target = x.copy()
        if free.any():
            rhs = c[free] - h[np.ix_(free, fixed)] @ x[fixed]
            target[free] = np.linalg.solve(h[np.ix_(free, free)], rhs)
        step = target - x
        blocked_low = free & (target < lower)
        blocked_high = free & (target > upper)
        if blocked_low.any() or blocked_high.any():
            # Walk towards the subspace optimum until the first bound blocks, and hold it there.
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(blocked_low, (lower - x) / step, np.where(blocked_high, (upper - x) / step, np.inf))
            alpha = float(np.clip(ratio.min(), 0.0, 1.0))
            x = np.clip(x + alpha * step, lower, upper)
            at_lower |= blocked_low & (ratio <= alpha + TOLERANCE)
            at_upper |= blocked_high & (ratio <= alpha + TOLERANCE)
            x[at_lower], x[at_upper] = lower[at_lower], upper[at_upper]
            continue
        x = target
        gradient = h @ x - c
        # A bound is right while the gradient pushes against it; release those that pull away.
        scale = TOLERANCE * (1.0 + np.abs(c).max(initial=0.0))
        release = (at_lower & (gradient < -scale)) | (at_upper & (gradient > scale))
        if not release.any():
            return x
        at_lower &= ~release
        at_upper &= ~release
    return x
