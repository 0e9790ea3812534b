"""Baking a character into morph targets: a neutral mesh plus one delta per expression,
so that any engine can animate it with its own (GPU) blend shapes.

The deformer is not linear in the expression weights, so a bake is an approximation.
Two ways to make the deltas:

- ``unit``: delta_k = D(shape, e_k) - D(shape, 0), the plain "one unit at full weight" bake;
- ``fitted``: least squares over sampled plausible combinations (sparse, often mirrored,
  now and then many units at once) together with the unit poses, which spreads the error
  over the combinations that animation actually uses.

``measure`` compares a bake with the exact network on held-out combinations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("unit", "fitted")


@dataclass
class Morphs:
    neutral: np.ndarray  # (N, 3) float32
    deltas: np.ndarray  # (E, N, 3) float32, one per expression, in the bundle's expression order

    def mesh(self, weights: np.ndarray) -> np.ndarray:
        """neutral + sum_k weights[k] * deltas[k] -> (N, 3) float32."""
        return self.neutral + np.tensordot(weights.astype(np.float32), self.deltas, axes=1)


def sample_expressions(names: list[str], count: int, rng: np.random.Generator, bounded: bool = True) -> np.ndarray:
    """(count, E) plausible expression weights: sparse, mostly mild, left/right units often
    moving together, and now and then many units at once. Training draws its expressions
    here too (stylemm.pretrain.deformer.ParameterStream), so bakes are fitted to what D_src learnt."""
    e = len(names)
    if not bounded:  # PCA expressions (FLAME): Gaussian, like the shape
        return (rng.standard_normal((count, e)) * rng.uniform(0, 1.5, (count, 1))).astype(np.float32)
    active = (rng.random((count, e)) < 0.12) | (rng.random((count, 1)) < 0.05)  # now and then everything at once
    weights = rng.random((count, e)) ** 1.5 * active
    # Symmetric expressions are common: copy a unit's weight to its mirror half of the time.
    partner = _mirror_partners(names)
    mirror = (rng.random((count, e)) < 0.5) & (partner >= 0)
    weights = np.where(mirror, weights[:, np.maximum(partner, 0)], weights)
    return weights.astype(np.float32)


def _mirror_partners(names: list[str]) -> np.ndarray:
    """Index of each expression's mirror unit (eyeBlinkLeft <-> eyeBlinkRight), or -1."""
    index = {name: i for i, name in enumerate(names)}
    mirrored = [name.replace("Left", "\0").replace("Right", "Left").replace("\0", "Right") for name in names]
    return np.array([index.get(m, -1) if m != name else -1 for name, m in zip(names, mirrored)], dtype=np.int64)


def bake(model, shape: np.ndarray, method: str = "fitted", samples: int = 256, seed: int = 0) -> Morphs:
    """Morph targets of the character with identity ``shape`` under ``model`` (a runtime Model)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    e = len(model.expression_names)
    units = np.eye(e, dtype=np.float32) * (1.0 if model.expression_range is None else model.expression_range[1])
    weights = np.concatenate([np.zeros((1, e), np.float32), units])
    if method == "fitted":
        bounded = model.expression_range is not None
        weights = np.concatenate([weights, sample_expressions(model.expression_names, samples, np.random.default_rng(seed), bounded)])
    meshes = _evaluate(model, shape, weights)
    neutral = meshes[0]
    if method == "unit":
        deltas = (meshes[1:] - neutral) / units.diagonal()[:, None, None]
    else:
        targets = (meshes[1:] - neutral).reshape(len(weights) - 1, -1)
        deltas = np.linalg.lstsq(weights[1:].astype(np.float64), targets.astype(np.float64), rcond=None)[0].reshape(e, -1, 3)
    return Morphs(neutral.astype(np.float32), deltas.astype(np.float32))


def measure(model, shape: np.ndarray, morphs: Morphs, count: int = 200, seed: int = 987654321) -> dict:
    """Vertex error (mm) of the bake against the exact network on held-out combinations."""
    weights = sample_expressions(model.expression_names, count, np.random.default_rng(seed), model.expression_range is not None)
    exact = _evaluate(model, shape, weights)
    baked = morphs.neutral + np.einsum("be,enc->bnc", weights, morphs.deltas)
    mm = np.linalg.norm(exact - baked, axis=-1) * 1000
    return {"samples": count, "mean_mm": float(mm.mean()), "rms_mm": float(np.sqrt((mm**2).mean())),
            "p99_mm": float(np.quantile(mm, 0.99)), "max_mm": float(mm.max())}  # fmt: skip


def _evaluate(model, shape: np.ndarray, weights: np.ndarray, batch: int = 64) -> np.ndarray:
    shapes = np.broadcast_to(shape.astype(np.float32), (len(weights), len(shape)))
    return np.concatenate([model.deform(shapes[i : i + batch], weights[i : i + batch]) for i in range(0, len(weights), batch)])
