// Four floats in one SIMD register, for the per-frame kernels' padded layout (x, y, z, 0 per
// vertex): SSE on x86-64, where every compiler has it, and plain arrays elsewhere, which
// compilers vectorize as they can. Written out because GCC turns Eigen's Vector4f::cross3
// into scalar code that goes through the stack (half of the normals' time when measured).
#pragma once

#include <algorithm>
#include <cmath>
#include <utility>

#if defined(__SSE2__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

namespace stylemm {

// Both versions are always compiled (the tests compare them); Float4 is the one in use.
namespace portable {

struct Float4 {
  float v[4];
};

inline Float4 load(const float* p) { return {{p[0], p[1], p[2], p[3]}}; }
inline void store(float* p, Float4 a) {
  for (int k = 0; k < 4; ++k) p[k] = a.v[k];
}
inline Float4 broadcast(float x) { return {{x, x, x, x}}; }
inline Float4 operator+(Float4 a, Float4 b) { return {{a.v[0] + b.v[0], a.v[1] + b.v[1], a.v[2] + b.v[2], a.v[3] + b.v[3]}}; }
inline Float4 operator-(Float4 a, Float4 b) { return {{a.v[0] - b.v[0], a.v[1] - b.v[1], a.v[2] - b.v[2], a.v[3] - b.v[3]}}; }
inline Float4 operator*(Float4 a, Float4 b) { return {{a.v[0] * b.v[0], a.v[1] * b.v[1], a.v[2] * b.v[2], a.v[3] * b.v[3]}}; }
inline Float4 operator*(Float4 a, float x) { return a * broadcast(x); }
// The cross product of the xyz parts; w is 0.
inline Float4 cross(Float4 a, Float4 b) {
  return {{a.v[1] * b.v[2] - a.v[2] * b.v[1], a.v[2] * b.v[0] - a.v[0] * b.v[2], a.v[0] * b.v[1] - a.v[1] * b.v[0], 0.0f}};
}
inline void store_unaligned(float* p, Float4 a) { store(p, a); }
// 1 / max(sqrt(a), floor), lane by lane.
inline Float4 inverse_sqrt(Float4 a, float floor) {
  Float4 r;
  for (int k = 0; k < 4; ++k) r.v[k] = 1.0f / std::max(std::sqrt(a.v[k]), floor);
  return r;
}
template <int k>
Float4 lane(Float4 a) {
  return broadcast(a.v[k]);
}
// Rows to columns, as _MM_TRANSPOSE4_PS.
inline void transpose(Float4& a, Float4& b, Float4& c, Float4& d) {
  Float4* rows[4] = {&a, &b, &c, &d};
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j) std::swap(rows[i]->v[j], rows[j]->v[i]);
}

}  // namespace portable

#if defined(__SSE2__) || defined(_M_X64)
namespace sse {

struct Float4 {
  __m128 v;
};

// 16-byte aligned addresses only.
inline Float4 load(const float* p) { return {_mm_load_ps(p)}; }
inline void store(float* p, Float4 a) { _mm_store_ps(p, a.v); }
inline Float4 broadcast(float x) { return {_mm_set1_ps(x)}; }
inline Float4 operator+(Float4 a, Float4 b) { return {_mm_add_ps(a.v, b.v)}; }
inline Float4 operator-(Float4 a, Float4 b) { return {_mm_sub_ps(a.v, b.v)}; }
inline Float4 operator*(Float4 a, Float4 b) { return {_mm_mul_ps(a.v, b.v)}; }
inline Float4 operator*(Float4 a, float x) { return a * broadcast(x); }
// a x b = (a * b.yzx - a.yzx * b).yzx: three shuffles. w is a.w * b.w - a.w * b.w = 0.
inline Float4 cross(Float4 a, Float4 b) {
  const __m128 a_yzx = _mm_shuffle_ps(a.v, a.v, _MM_SHUFFLE(3, 0, 2, 1));
  const __m128 b_yzx = _mm_shuffle_ps(b.v, b.v, _MM_SHUFFLE(3, 0, 2, 1));
  const __m128 c = _mm_sub_ps(_mm_mul_ps(a.v, b_yzx), _mm_mul_ps(a_yzx, b.v));
  return {_mm_shuffle_ps(c, c, _MM_SHUFFLE(3, 0, 2, 1))};
}
inline void store_unaligned(float* p, Float4 a) { _mm_storeu_ps(p, a.v); }
inline Float4 inverse_sqrt(Float4 a, float floor) {
  return {_mm_div_ps(_mm_set1_ps(1.0f), _mm_max_ps(_mm_sqrt_ps(a.v), _mm_set1_ps(floor)))};
}
template <int k>
Float4 lane(Float4 a) {
  return {_mm_shuffle_ps(a.v, a.v, _MM_SHUFFLE(k, k, k, k))};
}
inline void transpose(Float4& a, Float4& b, Float4& c, Float4& d) { _MM_TRANSPOSE4_PS(a.v, b.v, c.v, d.v); }

}  // namespace sse
using namespace sse;
#else
using namespace portable;
#endif

}  // namespace stylemm
