"""Box-constrained least squares in numpy: the tracker's expression fit, without scipy.

``solve_box_qp`` minimises 0.5 x'Hx - c'x subject to lower <= x <= upper for a small dense
symmetric positive-definite H (the Gauss-Newton normal equations of a fit), by a primal
active-set method: solve on the free variables, step to the first bound that blocks, free
the bound variables whose multipliers have the wrong sign, repeat. Each pass lowers the
objective, so the working sets never repeat and it ends at the exact optimum (the KKT
point). The first two passes instead hold every overshooting variable at once, which
usually guesses the final active set and saves most of the passes (the releases then
correct any wrong guess, so the answer is the same).
Infinite bounds are allowed (unbounded variables such as the head pose).
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 1e-10
GREEDY_PASSES = 2


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
    scale = TOLERANCE * (1.0 + np.abs(c).max(initial=0.0))
    for iteration in range(max_passes or 4 * k + 10):
        fixed = at_lower | at_upper
        free = ~fixed
        target = x.copy()
        if free.any():
            # (boolean row then column selection is much cheaper than np.ix_ at this size)
            rows = h[free]
            target[free] = np.linalg.solve(rows[:, free], c[free] - rows[:, fixed] @ x[fixed])
        blocked_low = free & (target < lower)
        blocked_high = free & (target > upper)
        if (blocked_low.any() or blocked_high.any()) and iteration < GREEDY_PASSES:
            # First passes: hold every variable that overshoots at its bound at once (a good
            # guess of the final active set when warm-started); the exact method follows.
            at_lower |= blocked_low
            at_upper |= blocked_high
            x = np.clip(target, lower, upper)
            continue
        if blocked_low.any() or blocked_high.any():
            # Walk towards the subspace optimum until the first bound blocks, and hold it there.
            step = target - x
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(blocked_low, (lower - x) / step, np.where(blocked_high, (upper - x) / step, np.inf))
            alpha = float(np.clip(ratio.min(), 0.0, 1.0))
            x = np.clip(x + alpha * step, lower, upper)
            at_lower |= blocked_low & (ratio <= alpha + TOLERANCE)
            at_upper |= blocked_high & (ratio <= alpha + TOLERANCE)
            x[at_lower], x[at_upper] = lower[at_lower], upper[at_upper]
            continue
        x = target
        # A bound is right while the gradient pushes against it; release those that pull away.
        gradient_fixed = h[fixed] @ x - c[fixed]
        release_fixed = (at_lower[fixed] & (gradient_fixed < -scale)) | (at_upper[fixed] & (gradient_fixed > scale))
        if not release_fixed.any():
            return x
        release = np.zeros(k, bool)
        release[np.flatnonzero(fixed)[release_fixed]] = True
        at_lower &= ~release
        at_upper &= ~release
    return x
