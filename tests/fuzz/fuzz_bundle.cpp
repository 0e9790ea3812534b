// libFuzzer harness: the input is a whole .smm archive, loaded with smm_model_load_memory
// (zip directory, manifest, sizes and sha256s, arrays, model, deformer weights). A model
// that loads is used a little (exercise.h). Seeds: tests/fuzz/make_seeds.py; run: tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>

#include "exercise.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::load_and_use(data, size);
  return 0;
}
