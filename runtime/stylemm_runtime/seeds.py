"""The seed stream of the C ABI's ``smm_sample_normal`` in numpy, bit for bit, without the
native build: a seed is a character everywhere (shape = the first K values of its stream,
texture_z = the next Z), in Python as in the Unity and Unreal samples.

The algorithm is specified in ``bindings/include/stylemm/stylemm.h`` and docs/native.md:
SplitMix64 draws, Marsaglia's polar method, and fdlibm's logarithm written out in float64
operations that IEEE-754 rounds the same everywhere (numpy's elementwise float64 add,
subtract, multiply, divide and sqrt are those operations; numpy never fuses them).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

SEED_RANGE = (0, 2**64 - 1)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_TWO52 = 4503599627370496.0  # 2^52

# fdlibm e_log.c
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_LG1, _LG2, _LG3, _LG4 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01
_LG5, _LG6, _LG7 = 1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01
_SQRT2_MANTISSA = 0x6A09E667F3BCD  # the mantissa bits of sqrt(2)


def sample_normal(seed: int, count: int) -> np.ndarray:
    """``count`` values ~ N(0, 1) of ``seed`` (an integer in [0, 2**64 - 1]) as float32, the
    same bits as ``smm_sample_normal``; a shorter draw is a prefix of a longer one."""
    seed, count = check_seed(seed), _check_count(count)
    out = np.empty(count, np.float32)
    written, attempt = 0, 0
    while written < count:
        # Polar attempts are accepted pi/4 of the time: ask for a few more than needed.
        attempts = int((count - written) / 2 / 0.785 * 1.05) + 16
        pairs = _polar(seed, attempt, attempts)
        take = min(len(pairs) * 2, count - written)
        out[written : written + take] = pairs.reshape(-1)[:take]
        written, attempt = written + take, attempt + attempts
    return out


def check_seed(seed) -> int:
    """seed as a Python int in [0, 2**64 - 1], else a ValueError naming the range."""
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not SEED_RANGE[0] <= int(seed) <= SEED_RANGE[1]:
        raise ValueError(f"seed must be an integer in [0, 2**64 - 1] (a uint64, as smm_sample_normal takes), got {seed!r}")
    return int(seed)


def _check_count(count) -> int:
    if isinstance(count, bool) or not isinstance(count, Integral) or count < 0:
        raise ValueError(f"count must be a whole number >= 0, got {count!r}")
    return int(count)


def _draws(seed: int, first: int, count: int) -> np.ndarray:
    """SplitMix64 outputs first .. first + count - 1 of the stream of seed (uint64, wrapping)."""
    index = np.arange(first + 1, first + count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + index * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _uniform(bits: np.ndarray) -> np.ndarray:
    """The top 53 bits as a uniform in [-1, 1), exactly: (b - 2^52) / 2^52."""
    return ((bits >> np.uint64(11)).astype(np.float64) - _TWO52) * (1.0 / _TWO52)


def _polar(seed: int, first_attempt: int, attempts: int) -> np.ndarray:
    """The accepted pairs (P, 2) float32 of polar attempts first_attempt .. + attempts - 1."""
    uv = _uniform(_draws(seed, 2 * first_attempt, 2 * attempts)).reshape(-1, 2)
    u, v = uv[:, 0], uv[:, 1]
    s = u * u + v * v
    keep = (s < 1.0) & (s != 0.0)
    u, v, s = u[keep], v[keep], s[keep]
    scale = np.sqrt((-2.0 * log_positive(s)) / s)
    return np.stack([u * scale, v * scale], 1).astype(np.float32)


def log_positive(x: np.ndarray) -> np.ndarray:
    """ln(x) of positive normal float64 values, fdlibm's kernel in the C core's operation order."""
    bits = np.ascontiguousarray(x, np.float64).view(np.uint64)
    k = (bits >> np.uint64(52)).astype(np.int64) - 1023
    mantissa = bits & np.uint64(0x000FFFFFFFFFFFFF)
    halve = mantissa > np.uint64(_SQRT2_MANTISSA)
    exponent = np.where(halve, np.uint64(0x3FE0000000000000), np.uint64(0x3FF0000000000000))
    m = (mantissa | exponent).view(np.float64)
    k = k + halve
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    dk = k.astype(np.float64)
    return dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f)


def character_values(seed: int, shape_dim: int, texture_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The character of a seed: (shape (K,), texture_z (Z,)), the first K and the next Z values
    of its stream."""
    values = sample_normal(seed, shape_dim + texture_dim)
    return values[:shape_dim], values[shape_dim:]
