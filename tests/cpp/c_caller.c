/* A plain C99 caller: the header has to stay valid C for engines' and FFI generators'
 * sake, and the library has to link without a C++ compiler on the caller's side. */
#include <stdio.h>
#include <string.h>

#include "stylemm/stylemm.h"

int main(void) {
  const float template_vertices[3] = {1.0f, 2.0f, 3.0f};
  const float deltas[3] = {1.0f, 0.0f, -1.0f};
  const float coeffs[1] = {2.0f};
  float out[3] = {0.0f, 0.0f, 0.0f};
  if (smm_version() != STYLEMM_VERSION) {
    fprintf(stderr, "library version %d, header %d\n", smm_version(), STYLEMM_VERSION);
    return 1;
  }
  if (smm_blend_shapes(out, template_vertices, deltas, coeffs, 1, 1) != SMM_OK) return 1;
  if (out[0] != 3.0f || out[1] != 2.0f || out[2] != 1.0f) return 1;
  /* Codes from other languages may be anything: C has no UB for an out-of-range enum. */
  if (strcmp(smm_status_string((smm_status)99), "unknown status code") != 0) return 1;
  if (strcmp(smm_status_string(SMM_ERR_NON_FINITE), "an input contains NaN or Inf") != 0) return 1;
  /* uint64_t seeds come from <stdint.h>, which the header includes for C callers. */
  {
    float values[3];
    const uint64_t seed = UINT64_MAX;
    if (smm_sample_normal(values, seed, 3) != SMM_OK) return 1;
  }
  return 0;
}
