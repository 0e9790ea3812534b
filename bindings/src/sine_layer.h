// One hidden layer of the deformer's SIREN, out = sin(in * weight^T + bias), as a kernel for
// CPUs with AVX2 and FMA, which the library uses where the CPU has them (chosen at run time:
// the library itself is built for the x86-64 baseline, where Eigen's products are 4 wide).
#pragma once

#include <cstddef>

namespace stylemm {

// out (rows, fan_out) = sin(in (rows, fan_in) * weight_t (fan_in, fan_out) + bias (fan_out)),
// all row-major; fan_out a multiple of 16. Only to be called where avx2_sine_layer() is not
// null (sine_layer_avx2.cpp is compiled for AVX2 + FMA).
void sine_layer_avx2(float* out, const float* in, const float* weight_t, const float* bias, std::ptrdiff_t rows,
                     int fan_in, int fan_out);

using SineLayer = decltype(&sine_layer_avx2);

// sine_layer_avx2 where this build has it and this CPU runs it, else null.
SineLayer avx2_sine_layer();

}  // namespace stylemm
