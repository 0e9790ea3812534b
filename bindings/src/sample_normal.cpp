// smm_sample_normal: the seed stream, N(0, 1) values that are the same bits on every platform
// and compiler (stylemm.h specifies the algorithm; docs/native.md walks through it; the numpy
// reproduction is runtime/stylemm_runtime/seeds.py).
//
// Only IEEE-754 double additions, subtractions, multiplications, divisions and sqrt are used:
// the standard requires them correctly rounded, so every conforming machine gives the same
// bits. The logarithm is written out below because libm's log differs between C libraries
// (glibc, MSVC's, Apple's, Android's bionic) in the last bit. Two things could still change
// the bits, and both are ruled out:
//  - fused multiply-add contraction (a * b + c in one rounding): GCC does it on arm64 by
//    default, Clang within expressions. CMakeLists.txt compiles this file with
//    -ffp-contract=off; the pragma below says the same to Clang and MSVC;
//  - extended precision (x87's 80-bit registers, FLT_EVAL_METHOD 2): refused at compile time.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "stylemm/stylemm.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(_MSC_VER)
#pragma fp_contract(off)
#endif

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "smm_sample_normal needs double arithmetic rounded to double (FLT_EVAL_METHOD 0): on 32-bit x86 use -msse2 -mfpmath=sse"
#endif

namespace {

// SplitMix64 (Steele, Lea, Flood 2014; the generator that seeds xoshiro): the i-th output of
// a stream is a fixed mix of seed + (i + 1) * golden, so it needs no state beyond a counter.
constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;

std::uint64_t splitmix64(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + (index + 1) * kGolden;  // unsigned: wraps modulo 2^64, as specified
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The top 53 bits of a draw as a uniform in [-1, 1): (b - 2^52) / 2^52, exact in double.
double uniform_pm1(std::uint64_t bits) {
  return (static_cast<double>(bits >> 11) - 4503599627370496.0) * (1.0 / 4503599627370496.0);
}

std::uint64_t bits_of(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

double from_bits(std::uint64_t b) {
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// ln(x) for a positive normal double, fdlibm's e_log.c (Sun, 1993) without its special cases:
// x = 2^k m with m in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f), and
// ln(1 + f) = 2 atanh(s) = f - s (f - R(s^2)) with fdlibm's minimax polynomial R: under
// 1 ulp from the true value. Every operation and its order is part of the specification.
double log_positive(double x) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3FE62E42FEE00000: k * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;  // 0x3DEA39EF35793C76
  constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01,
                   kLg3 = 2.857142874366239149e-01, kLg4 = 2.222219843214978396e-01,
                   kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                   kLg7 = 1.479819860511658591e-01;
  const std::uint64_t b = bits_of(x);
  int k = static_cast<int>(b >> 52) - 1023;  // x is positive and normal: the sign bit is 0
  const std::uint64_t mantissa = b & 0x000FFFFFFFFFFFFFull;
  // m in [1, 2) from the mantissa bits; above 0x6A09E667F3BCD (the bits of sqrt(2)) halve it.
  const bool halve = mantissa > 0x6A09E667F3BCDull;
  const double m = from_bits(mantissa | (halve ? 0x3FE0000000000000ull : 0x3FF0000000000000ull));
  if (halve) k += 1;
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double r = t2 + t1;
  const double hfsq = 0.5 * f * f;
  const double dk = static_cast<double>(k);
  return dk * kLn2Hi - ((hfsq - (s * (hfsq + r) + dk * kLn2Lo)) - f);
}

}  // namespace

extern "C" smm_status smm_sample_normal(float* out, std::uint64_t seed, int count) {
  if (count < 0) return SMM_ERR_INVALID_ARGUMENT;
  if (count == 0) return SMM_OK;
  if (!out) return SMM_ERR_NULL_POINTER;
  // Marsaglia's polar method: attempt a takes draws 2a and 2a + 1 as (u, v) in [-1, 1)^2,
  // keeps them if 0 < s = u^2 + v^2 < 1 (pi / 4 of the time) and then gives the pair
  // u * sqrt(-2 ln(s) / s), v * sqrt(-2 ln(s) / s).
  int written = 0;
  for (std::uint64_t attempt = 0; written < count; ++attempt) {
    const double u = uniform_pm1(splitmix64(seed, 2 * attempt));
    const double v = uniform_pm1(splitmix64(seed, 2 * attempt + 1));
    const double s = u * u + v * v;
    if (s >= 1.0 || s == 0.0) continue;
    const double scale = std::sqrt((-2.0 * log_positive(s)) / s);
    out[written++] = static_cast<float>(u * scale);
    if (written < count) out[written++] = static_cast<float>(v * scale);
  }
  return SMM_OK;
}
