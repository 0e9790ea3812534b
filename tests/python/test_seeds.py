"""One seed, one character: smm_sample_normal (C), its numpy reproduction
(stylemm_runtime.seeds) and a plain-Python transcription of the header's specification give
the same bits; Model.character(seed=...) takes shape and texture_z from that one stream; the
values are N(0, 1). The C sample and the cross-built libraries (Windows, arm64) are checked
against the same bytes in test_c_sample.py, test_windows_build.py and test_arm64_build.py."""

import ctypes
import math
import struct
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import stylemm_runtime
from stylemm_runtime import seeds

# (seed, count): zero, one, odd and even counts, the largest seed, and enough values that the
# polar method's rejections and the numpy batches' boundaries both come into play.
CASES = [(7, 0), (7, 1), (7, 2), (7, 3), (7, 153), (0, 64), (1, 99), (2**64 - 1, 31), (2**63, 8), (123456789, 10001)]
# The first values of seed 7, as float32 bits: the specification, pinned (stylemm.h).
SEED_7_BITS = [0xBD2AF929, 0xBE3B7961, 0x3F606117, 0x3E39B9A5, 0xBE9CAAE0, 0xBFCE5B95]


def spec_sample_normal(seed: int, count: int) -> list[float]:
    """stylemm.h's specification transcribed into plain Python: ints modulo 2^64, floats are
    IEEE binary64 (each operation correctly rounded), struct for the bits and for float32."""
    mask = 2**64 - 1

    def draw(i):
        z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    def uniform(i):
        return (float(draw(i) >> 11) - 2.0**52) * 2.0**-52

    def log(s):
        (b,) = struct.unpack("<Q", struct.pack("<d", s))
        k, mantissa = (b >> 52) - 1023, b & (2**52 - 1)
        if mantissa > 0x6A09E667F3BCD:
            bits, k = mantissa | 0x3FE0000000000000, k + 1
        else:
            bits = mantissa | 0x3FF0000000000000
        (m,) = struct.unpack("<d", struct.pack("<Q", bits))
        lg = [6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
              1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01]  # fmt: skip
        f = m - 1.0
        t = f / (2.0 + f)
        z = t * t
        w = z * z
        t1 = w * (lg[1] + w * (lg[3] + w * lg[5]))
        t2 = z * (lg[0] + w * (lg[2] + w * (lg[4] + w * lg[6])))
        r = t2 + t1
        h = 0.5 * f * f
        return k * 6.93147180369123816490e-01 - ((h - (t * (h + r) + k * 1.90821492927058770002e-10)) - f)

    def to_float32(x):
        return struct.unpack("<f", struct.pack("<f", x))[0]

    out, attempt = [], 0
    while len(out) < count:
        u, v = uniform(2 * attempt), uniform(2 * attempt + 1)
        attempt += 1
        s = u * u + v * v
        if s >= 1.0 or s == 0.0:
            continue
        r = math.sqrt((-2.0 * log(s)) / s)
        out += [to_float32(u * r), to_float32(v * r)]
    return out[:count]


@pytest.fixture(scope="module")
def library():
    """libstylemm through ctypes: the C ABI itself, NULL pointers included."""
    lib = ctypes.CDLL(str(stylemm_runtime.native_library()))
    lib.smm_sample_normal.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int]
    lib.smm_sample_normal.restype = ctypes.c_int
    return lib


def _c(library, seed: int, count: int) -> np.ndarray:
    out = np.full(count, np.nan, np.float32)
    assert library.smm_sample_normal(out.ctypes.data, seed, count) == 0
    return out


@pytest.mark.parametrize("seed, count", CASES)
def test_c_numpy_and_the_specification_give_the_same_bits(library, native, seed, count):
    c = _c(library, seed, count)
    assert c.tobytes() == native.sample_normal(seed, count).tobytes()
    assert c.tobytes() == seeds.sample_normal(seed, count).tobytes()
    head = min(count, 2000)  # the plain-Python transcription is slow
    assert c[:head].tobytes() == np.array(spec_sample_normal(seed, head), np.float32).tobytes()


def test_seed_7_is_pinned():
    bits = seeds.sample_normal(7, len(SEED_7_BITS)).view(np.uint32)
    assert [f"{b:08X}" for b in bits] == [f"{b:08X}" for b in SEED_7_BITS]


def test_a_shorter_draw_is_a_prefix_of_a_longer_one(native):
    long = native.sample_normal(42, 5001)
    for count in (1, 2, 17, 1000, 5000):
        assert native.sample_normal(42, count).tobytes() == long[:count].tobytes()
        assert seeds.sample_normal(42, count).tobytes() == long[:count].tobytes()


def test_neighbouring_seeds_are_unrelated():
    a, b = seeds.sample_normal(7, 10000), seeds.sample_normal(8, 10000)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.04  # 4 sigma for 10,000 independent pairs


def test_the_values_are_standard_normal():
    values = seeds.sample_normal(2024, 100_000).astype(np.float64)
    assert abs(values.mean()) < 4 / math.sqrt(len(values))  # 4 sigma of the mean
    assert abs(values.std() - 1) < 4 / math.sqrt(2 * len(values))  # 4 sigma of the standard deviation
    assert abs(stats.skew(values)) < 0.03 and abs(stats.kurtosis(values)) < 0.06
    assert stats.kstest(values, "norm").pvalue > 1e-3
    assert np.isfinite(values).all() and np.abs(values).max() < 7  # the polar method's bound is about 12


def test_the_logarithm_is_within_one_ulp():
    x = np.concatenate([np.random.default_rng(0).random(100_000), 2.0 ** -np.arange(1, 105, dtype=np.float64),
                        np.nextafter(1.0, 0.0) - np.arange(100) * 2.0**-53])  # fmt: skip
    reference = np.array([math.log(v) for v in x])
    ulps = np.abs(seeds.log_positive(x) - reference) / np.spacing(np.abs(reference))
    assert ulps.max() <= 1


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, True, "7", None])
def test_seeds_outside_uint64_are_refused_by_name(native, seed):
    for sample in (native.sample_normal, seeds.sample_normal):
        with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*64 - 1\]"):
            sample(seed, 3)


def test_wrong_arguments_are_statuses_in_c_and_errors_in_python(library, native):
    assert library.smm_sample_normal(None, 7, 3) == 3  # SMM_ERR_NULL_POINTER, no crash
    assert library.smm_sample_normal(None, 7, -1) == 1  # SMM_ERR_INVALID_ARGUMENT
    assert library.smm_sample_normal(None, 7, 0) == 0  # nothing to write
    out = np.full(2, 5.0, np.float32)
    assert library.smm_sample_normal(out.ctypes.data, 7, -2) == 1 and (out == 5).all()  # nothing written
    for sample in (native.sample_normal, seeds.sample_normal):
        with pytest.raises(ValueError, match="count"):
            sample(7, -1)


def test_numpy_integers_are_seeds(native):
    assert native.sample_normal(np.uint64(2**64 - 1), 5).tobytes() == seeds.sample_normal(np.uint64(2**64 - 1), 5).tobytes()
    assert seeds.sample_normal(np.int32(7), 3).tobytes() == seeds.sample_normal(7, 3).tobytes()


def test_the_character_of_a_seed_is_its_stream(bundle_path):
    model = stylemm_runtime.load(bundle_path)
    k, z = model.shape_dim, model.texture_dim
    stream = seeds.sample_normal(7, k + z)
    character = model.character(seed=7)
    assert character.shape.tobytes() == stream[:k].tobytes()
    assert character.texture_z.tobytes() == stream[k:].tobytes()
    # A given shape keeps the seed's texture; a given texture keeps its shape.
    shape = np.ones(k, np.float32)
    assert model.character(shape=shape, seed=7).texture_z.tobytes() == stream[k:].tobytes()
    assert model.character(texture_z=np.zeros(z), seed=7).shape.tobytes() == stream[:k].tobytes()
    assert not model.character().shape.any() and not model.character().texture_z.any()  # no seed: the mean face
    with pytest.raises(ValueError, match="seed must be"):
        model.character(seed=-7)


def test_the_numpy_path_needs_no_native_build(native):
    code = (
        "import sys; sys.modules['stylemm_runtime._native'] = None\n"
        "import stylemm_runtime; from stylemm_runtime import seeds\n"
        "assert not stylemm_runtime.has_native()\n"
        "sys.stdout.write(seeds.sample_normal(7, 101).tobytes().hex())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert bytes.fromhex(result.stdout) == native.sample_normal(7, 101).tobytes()
