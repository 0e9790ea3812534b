// sine_layer.h's AVX2 + FMA kernel. This file alone is compiled with -mavx2 -mfma, so it uses
// no inline function from a shared header (the standard library's, Eigen's) beyond the
// intrinsics: compiled here, such a function could be the copy the linker keeps for the whole
// library, and then run on CPUs without AVX2.
#include "sine_layer.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include <cstddef>

namespace stylemm {
namespace {

// sin of eight floats: x = j * pi/2 + r with |r| <= pi/4, then sin(r) or cos(r) by the
// quadrant j mod 4. Taylor series to r^9 and r^10 are within 2e-9 on that range, below
// float rounding; pi/2 in two parts with FMA keeps r exact for |j| up to about 2^20.
__m256 sin8(__m256 x) {
  const __m256 j = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.636619772f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(j, _mm256_set1_ps(1.57079637f), x);
  r = _mm256_fnmadd_ps(j, _mm256_set1_ps(-4.37113883e-8f), r);
  const __m256 r2 = _mm256_mul_ps(r, r);
  __m256 s = _mm256_fmadd_ps(r2, _mm256_set1_ps(1.0f / 362880), _mm256_set1_ps(-1.0f / 5040));
  s = _mm256_fmadd_ps(r2, s, _mm256_set1_ps(1.0f / 120));
  s = _mm256_fmadd_ps(r2, s, _mm256_set1_ps(-1.0f / 6));
  s = _mm256_fmadd_ps(_mm256_mul_ps(r, r2), s, r);
  __m256 c = _mm256_fmadd_ps(r2, _mm256_set1_ps(-1.0f / 3628800), _mm256_set1_ps(1.0f / 40320));
  c = _mm256_fmadd_ps(r2, c, _mm256_set1_ps(-1.0f / 720));
  c = _mm256_fmadd_ps(r2, c, _mm256_set1_ps(1.0f / 24));
  c = _mm256_fmadd_ps(r2, c, _mm256_set1_ps(-0.5f));
  c = _mm256_fmadd_ps(r2, c, _mm256_set1_ps(1.0f));
  // Quadrant 0: sin r, 1: cos r, 2: -sin r, 3: -cos r (two's complement keeps this for j < 0).
  const __m256i q = _mm256_cvtps_epi32(j);
  const __m256i odd = _mm256_cmpeq_epi32(_mm256_and_si256(q, _mm256_set1_epi32(1)), _mm256_set1_epi32(1));
  const __m256 sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(q, _mm256_set1_epi32(2)), 30));
  return _mm256_xor_ps(_mm256_blendv_ps(s, c, _mm256_castsi256_ps(odd)), sign);
}

// R rows by 16 columns of out, starting at (row, column): 2R accumulators in registers over
// the whole inner dimension, then the sine, then one store each.
template <int R>
void tile(float* out, const float* in, const float* weight_t, const float* bias, std::ptrdiff_t row,
          std::ptrdiff_t column, std::ptrdiff_t fan_in, std::ptrdiff_t fan_out) {
  __m256 acc[R][2];
  for (int i = 0; i < R; ++i) {
    acc[i][0] = _mm256_loadu_ps(bias + column);
    acc[i][1] = _mm256_loadu_ps(bias + column + 8);
  }
  for (std::ptrdiff_t k = 0; k < fan_in; ++k) {
    const __m256 w0 = _mm256_loadu_ps(weight_t + k * fan_out + column);
    const __m256 w1 = _mm256_loadu_ps(weight_t + k * fan_out + column + 8);
    for (int i = 0; i < R; ++i) {
      const __m256 x = _mm256_broadcast_ss(in + (row + i) * fan_in + k);
      acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);
    }
  }
  for (int i = 0; i < R; ++i) {
    _mm256_storeu_ps(out + (row + i) * fan_out + column, sin8(acc[i][0]));
    _mm256_storeu_ps(out + (row + i) * fan_out + column + 8, sin8(acc[i][1]));
  }
}

}  // namespace

void sine_layer_avx2(float* out, const float* in, const float* weight_t, const float* bias, std::ptrdiff_t rows,
                     int fan_in, int fan_out) {
  std::ptrdiff_t row = 0;
  for (; row + 4 <= rows; row += 4)
    for (int column = 0; column < fan_out; column += 16) tile<4>(out, in, weight_t, bias, row, column, fan_in, fan_out);
  for (; row < rows; ++row)
    for (int column = 0; column < fan_out; column += 16) tile<1>(out, in, weight_t, bias, row, column, fan_in, fan_out);
}

}  // namespace stylemm
#endif
