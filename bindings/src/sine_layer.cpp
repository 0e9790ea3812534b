#include "sine_layer.h"

namespace stylemm {

SineLayer avx2_sine_layer() {
  // Here, not in sine_layer_avx2.cpp: this must run on any CPU. GCC's and Clang's check covers
  // the operating system's support for AVX registers too.
#if defined(STYLEMM_AVX2_KERNEL) && (defined(__GNUC__) || defined(__clang__))
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return sine_layer_avx2;
#endif
  return nullptr;
}

}  // namespace stylemm
