/* Writes smm_sample_normal's values for (seed, count) pairs, one stream after another, as
 * float32: what the Python tests compare with stylemm_runtime.seeds on every platform the
 * library is built for (Linux, Windows under Wine, arm64 under QEMU).
 *
 *   ./seed_stream OUT.f32 SEED COUNT [SEED COUNT ...] */
#include <stdio.h>
#include <stdlib.h>

#include "stylemm/stylemm.h"

int main(int argc, char** argv) {
  if (argc < 4 || argc % 2) {
    fprintf(stderr, "usage: %s OUT.f32 SEED COUNT [SEED COUNT ...]\n", argv[0]);
    return 2;
  }
  FILE* out = fopen(argv[1], "wb");
  if (!out) {
    fprintf(stderr, "cannot write %s\n", argv[1]);
    return 1;
  }
  int result = 0;
  for (int a = 2; a + 1 < argc && result == 0; a += 2) {
    const uint64_t seed = (uint64_t)strtoull(argv[a], NULL, 10);
    const int count = atoi(argv[a + 1]);
    float* values = malloc(((size_t)count + 1) * sizeof(float));
    if (!values || smm_sample_normal(values, seed, count) != SMM_OK ||
        fwrite(values, sizeof(float), (size_t)count, out) != (size_t)count)
      result = 1;
    free(values);
  }
  /* The statuses a wrong call gets, never a crash: NULL out, then a negative count. */
  if (smm_sample_normal(NULL, 7, 3) != SMM_ERR_NULL_POINTER || smm_sample_normal(NULL, 7, -1) != SMM_ERR_INVALID_ARGUMENT)
    result = 3;
  if (fclose(out) != 0) result = 1;
  return result;
}
