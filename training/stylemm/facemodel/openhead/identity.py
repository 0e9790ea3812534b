"""OpenHead's identity space: PCA of random adult heads made from MakeHuman targets.

Every sample is a linear combination of target offsets (local head targets plus the
adult macro targets), so the PCA is done in the small space of target weights
instead of on thousands of dense meshes: exact, and fast.
"""

from __future__ import annotations

import re

import numpy as np

from stylemm.facemodel.openhead.assets import MakeHumanData, read_target

LOCAL_FOLDERS = ("head", "nose", "eyes", "mouth", "chin", "cheek", "ears", "forehead", "eyebrows", "neck")
LOCAL_RANGE = 0.35  # |weight| of local targets; [-1, 1] gives caricatures
N_SAMPLES = 5000

# Pairs of targets that push one feature in opposite directions become one signed
# variable (these are the suffix pairs that occur in hm08's head targets; the first of
# each sorts first, so it is met first).
OPPOSITES = [("decr", "incr"), ("in", "out"), ("down", "up"), ("backward", "forward"),
             ("compress", "uncompress"), ("concave", "convex")]  # fmt: skip

# Adult macros: MakeHuman interpolates between named corner targets.
ETHNICITIES = ("african", "asian", "caucasian")
AGE_KNOTS = {"baby": 0.0, "child": 0.1875, "young": 0.5, "old": 1.0}
LEVEL_KNOTS = {"min": 0.0, "average": 0.5, "max": 1.0}


def local_targets(data: MakeHumanData, vertices: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Names and (T, n, 3) offsets of the local head targets, paired into signed variables.

    A paired variable's offset is (positive target - negative target) / 2 applied with a
    signed weight: the linear model of MakeHuman's slider, symmetric around zero.
    """
    paths = [p for folder in LOCAL_FOLDERS for p in data.target_paths(folder)]
    stems = {_stem(p): p for p in paths}
    names, offsets, used = [], [], set()
    n = len(data.base_mesh.vertices)
    for stem, path in stems.items():
        if stem in used:
            continue
        partner = _partner(stem, stems)
        d = read_target(path, n)[vertices]
        if partner:
            used.add(partner)
            d = (d - read_target(stems[partner], n)[vertices]) / 2
        used.add(stem)
        names.append(stem if not partner else f"{stem}|{partner}")
        offsets.append(d)
    return names, np.stack(offsets)


def _stem(path) -> str:
    return path.name.split(".target")[0]


def _partner(stem: str, stems: dict) -> str | None:
    """The name of the target that moves the same feature the other way, if any."""
    for a, b in OPPOSITES:
        m = re.fullmatch(rf"(.*)-{a}(.*)", stem)
        if m and f"{m[1]}-{b}{m[2]}" in stems:
            return f"{m[1]}-{b}{m[2]}"
    return None


def macro_targets(data: MakeHumanData, vertices: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The adult macro corner targets (ethnic and universal) restricted to the vertices."""
    names = [f"{e}-{g}-{a}" for e in ETHNICITIES for g in ("female", "male") for a in ("young", "old")]
    names += [
        f"universal-{g}-{a}-{m}muscle-{w}weight"
        for g in ("female", "male")
        for a in ("young", "old")
        for m in LEVEL_KNOTS
        for w in LEVEL_KNOTS
    ]
    n = len(data.base_mesh.vertices)
    return names, np.stack([read_target(data.macro_path(name), n)[vertices] for name in names])


def _knot_weights(value: float, knots: dict[str, float]) -> dict[str, float]:
    """Piecewise-linear weights of the two knots around value (MakeHuman's macro slider)."""
    names = list(knots)
    for lo, hi in zip(names, names[1:]):
        if knots[lo] <= value <= knots[hi]:
            t = (value - knots[lo]) / (knots[hi] - knots[lo])
            return {lo: 1 - t, hi: t}
    raise ValueError(f"{value} outside {knots}")


def sample_weights(rng: np.random.Generator, local_names: list[str], macro_names: list[str], n: int) -> np.ndarray:
    """(n, n_local + n_macro) target weights of random adults.

    Paired (signed) local variables are drawn from [-r, r]; single targets are one-sided
    MakeHuman sliders, drawn from [0, r].
    """
    signed = np.array(["|" in name for name in local_names])
    local = rng.uniform(0, LOCAL_RANGE, size=(n, len(local_names)))
    local[:, signed] = rng.uniform(-LOCAL_RANGE, LOCAL_RANGE, size=(n, int(signed.sum())))
    macro = np.zeros((n, len(macro_names)))
    index = {name: i for i, name in enumerate(macro_names)}
    for s in range(n):
        g = rng.uniform(0, 1)
        gender = {"female": 1 - g, "male": g}
        age = _knot_weights(rng.uniform(0.5, 0.85), AGE_KNOTS)  # about 25 to 70 years
        muscle = _knot_weights(rng.uniform(0.25, 0.75), LEVEL_KNOTS)
        weight = _knot_weights(rng.uniform(0.2, 0.8), LEVEL_KNOTS)
        ethnic = dict(zip(ETHNICITIES, rng.dirichlet(np.ones(len(ETHNICITIES)))))
        for gn, gw in gender.items():
            for an, aw in age.items():
                for en, ew in ethnic.items():
                    macro[s, index[f"{en}-{gn}-{an}"]] += ew * gw * aw
                for mn, mw in muscle.items():
                    for wn, ww in weight.items():
                        macro[s, index[f"universal-{gn}-{an}-{mn}muscle-{wn}weight"]] += gw * aw * mw * ww
    return np.concatenate([local, macro], axis=1)


def pca(weights: np.ndarray, offsets: np.ndarray, k: int):
    """Mean offset (n, 3), k components scaled by their std (k, n, 3), explained fractions.

    Samples are weights @ offsets, with each sample's mean translation removed (head
    position is not identity). Thin QR of the offsets keeps the SVD in target space.
    """
    t, n, _ = offsets.shape
    centred = offsets - offsets.mean(axis=1, keepdims=True)
    q, r = np.linalg.qr(centred.reshape(t, -1).T)  # (3n, t), (t, t)
    w = weights - weights.mean(axis=0)
    u, s, vt = np.linalg.svd(w @ r.T, full_matrices=False)
    directions = (q @ vt[:k].T).T  # (k, 3n), unit norm
    # Fix each component's sign so the build is deterministic: largest entry positive.
    signs = np.sign(directions[np.arange(k), np.abs(directions).argmax(1)])
    std = s[:k] / np.sqrt(len(weights) - 1)
    components = (directions * (signs * std)[:, None]).reshape(k, n, 3)
    mean = (weights.mean(axis=0) @ centred.reshape(t, -1)).reshape(n, 3)
    explained = np.cumsum(s**2) / np.sum(s**2)
    return mean, components, explained
