/* The smallest complete use of libstylemm from C: load a bundle, make the character of a seed,
 * animate one frame, write its vertices and normals. A template for engine plugins, and a test
 * (the Python test suite compiles and runs it on a bundle, on Linux, Windows and arm64, and
 * compares what it writes with stylemm_runtime's).
 *
 *   cc -std=c99 -I bindings/include samples/c/animate.c -L <dir of libstylemm.so> -lstylemm -o animate
 *   ./animate BUNDLE OUT.f32 [seed] [jawOpen weight]
 *
 * A seed is a character everywhere: its identity is the first K values of smm_sample_normal's
 * stream, its texture latent the next Z, as in stylemm_runtime's model.character(seed=...).
 * OUT.f32 gets N x 3 float32 vertices (glTF axes, metres), posed with the neck turned, then
 * their N x 3 unit normals, then the K + Z values of the seed (shape, then texture_z: what an
 * engine feeds texture.onnx for this character's texture). */
#include <stdio.h>
#include <stdlib.h>

#include "stylemm/stylemm.h"

static int fail(const char* what, const char* message) {
  fprintf(stderr, "%s: %s\n", what, message);
  return 1;
}

static int animate(smm_model* model, smm_evaluator* evaluator, const smm_model_info* info, uint64_t seed,
                   float jaw_open, const char* out_path) {
  const size_t n3 = 3 * (size_t)info->vertices, n_seed = (size_t)info->shape_dim + (size_t)info->texture_dim;
  float* weights = calloc((size_t)info->expressions, sizeof(float));
  float* pose = calloc(3 * (size_t)info->joints, sizeof(float));
  float* frame = malloc((2 * n3 + n_seed) * sizeof(float)); /* the vertices, the normals, the seed's values */
  float* shape = frame + 2 * n3;
  smm_character* character = NULL;
  int result = 1;
  if (!weights || !pose || !frame) {
    fprintf(stderr, "out of memory\n");
    goto done;
  }
  if (smm_sample_normal(shape, seed, (int)n_seed) != SMM_OK) {
    fprintf(stderr, "smm_sample_normal failed\n");
    goto done;
  }
  const int jaw = smm_model_find_expression(model, "jawOpen");
  if (jaw >= 0) weights[jaw] = jaw_open;
  if (info->joints > 1) pose[3 * 1 + 1] = 0.3f; /* joint 1 (OpenHead's neck) turned about +Y */
  if (smm_character_create(&character, evaluator, shape, info->shape_dim, NULL, 0) != SMM_OK ||
      smm_evaluate(frame, frame + n3, evaluator, character, weights, info->expressions, pose, 3 * info->joints,
                   info->vertices) != SMM_OK) {
    fail("animate", smm_evaluator_message(evaluator));
    goto done;
  }
  FILE* out = fopen(out_path, "wb");
  if (!out || fwrite(frame, sizeof(float), 2 * n3 + n_seed, out) != 2 * n3 + n_seed) {
    fprintf(stderr, "cannot write %s\n", out_path);
  } else {
    result = 0;
  }
  if (out) fclose(out);
done:
  smm_character_destroy(character);
  free(weights);
  free(pose);
  free(frame);
  return result;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s BUNDLE OUT.f32 [seed] [jawOpen weight]\n", argv[0]);
    return 2;
  }
  if (smm_check_version(STYLEMM_VERSION) != SMM_OK)
    return fail("libstylemm", "the library is another version than stylemm.h");
  char error[1024];
  smm_model* model = NULL;
  smm_evaluator* evaluator = NULL;
  if (smm_model_load(&model, argv[1], error, sizeof error) != SMM_OK) return fail("load", error);
  if (smm_evaluator_create(&evaluator, model, 1, error, sizeof error) != SMM_OK) {
    smm_model_destroy(model);
    return fail("evaluator", error);
  }
  smm_model_info info;
  smm_model_get_info(&info, model);
  const uint64_t seed = argc > 3 ? (uint64_t)strtoull(argv[3], NULL, 10) : 0; /* any uint64 is a seed */
  const int result = animate(model, evaluator, &info, seed, argc > 4 ? strtof(argv[4], NULL) : 0.5f, argv[2]);
  smm_evaluator_destroy(evaluator);
  smm_model_destroy(model);
  return result;
}
