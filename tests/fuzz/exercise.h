// What both fuzzers do with an in-memory .smm: load it through the C ABI and, when it loads,
// use the model a little. Any violated expectation aborts, which libFuzzer reports as a crash
// (with the input saved), like a sanitizer report.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "stylemm/stylemm.h"

namespace fuzz {

[[noreturn]] inline void violated(const char* what, const char* detail) {
  std::fprintf(stderr, "fuzz expectation violated: %s (%s)\n", what, detail ? detail : "");
  std::abort();
}

inline void expect(bool condition, const char* what, const char* detail = nullptr) {
  if (!condition) violated(what, detail);
}

// Beyond this many floats a baked character is not made: a bundle may legitimately
// describe a mesh of millions of vertices times hundreds of expressions.
constexpr long long kMaxBakeFloats = 1 << 22;
// The deformer is evaluated once (not baked: that is 1 + E evaluations) on meshes up to this
// size; its cost is vertices times the SIREN's weights, which the input's size bounds.
constexpr int kMaxDeformVertices = 1024;

inline void use_model(smm_model* model) {
  smm_model_info info{};
  expect(smm_model_get_info(&info, model) == SMM_OK, "smm_model_get_info failed on a loaded model");
  expect(info.vertices > 0 && info.triangles >= 0 && info.uv_vertices >= 0 && info.shape_dim > 0 &&
             info.expressions > 0 && info.joints > 0 && info.texture_dim > 0,
         "a loaded model has a non-positive size");
  const long long n3 = 3LL * info.vertices;

  std::vector<int> faces(3 * static_cast<std::size_t>(info.triangles));
  if (!faces.empty()) expect(smm_model_get_faces(faces.data(), model, static_cast<int>(faces.size())) == SMM_OK, "get_faces");
  for (int index : faces) expect(index >= 0 && index < info.vertices, "a face index outside the mesh");
  std::vector<float> vertices(static_cast<std::size_t>(n3));
  expect(smm_model_get_template(vertices.data(), model, static_cast<int>(n3)) == SMM_OK, "get_template");
  char name[64];
  smm_model_get_expression_name(name, model, 0, sizeof name);  // may be SMM_ERR_SIZE for a long name
  smm_model_get_joint_name(name, model, info.joints - 1, sizeof name);

  char error[256] = "unset";
  smm_evaluator* evaluator = nullptr;
  const smm_status made = smm_evaluator_create(&evaluator, model, 1, error, sizeof error);
  if (made != SMM_OK) {
    // Only running out of memory may stop an evaluator for a model that loaded.
    expect(made == SMM_ERR_OUT_OF_MEMORY && evaluator == nullptr && error[0] != '\0', "smm_evaluator_create failed", error);
    return;
  }
  expect(error[0] == '\0', "smm_evaluator_create succeeded but left a message", error);

  if (info.vertices <= kMaxDeformVertices) {
    const std::vector<float> shape(static_cast<std::size_t>(info.shape_dim), 0.0f);
    const std::vector<float> expression(static_cast<std::size_t>(info.expressions), 0.0f);
    std::vector<float> deformed(static_cast<std::size_t>(n3));
    const smm_status status = smm_deform(deformed.data(), evaluator, shape.data(), expression.data(), 1);
    // SMM_ERR_UNSUPPORTED: the bundle has no deformer weights.
    expect(status == SMM_OK || status == SMM_ERR_UNSUPPORTED, "smm_deform failed", smm_evaluator_message(evaluator));
    expect((status == SMM_OK) == (smm_evaluator_message(evaluator)[0] == '\0'),
           "smm_deform's message disagrees with its status", smm_evaluator_message(evaluator));
  }

  if (n3 * (info.expressions + 1LL) <= kMaxBakeFloats) {
    // The neutral mesh is the template (finite, checked at load), so the frame has real
    // triangles and joints; the morph targets are zero.
    const std::vector<float>& neutral = vertices;
    const std::vector<float> deltas(static_cast<std::size_t>(n3 * info.expressions), 0.0f);
    smm_character* character = nullptr;
    const smm_status baked = smm_character_create_baked(&character, evaluator, neutral.data(), deltas.data(),
                                                        static_cast<int>(n3 * (info.expressions + 1LL)));
    expect(baked == SMM_OK, "smm_character_create_baked failed", smm_evaluator_message(evaluator));
    const std::vector<float> expression(static_cast<std::size_t>(info.expressions), 0.5f);
    std::vector<float> pose(3 * static_cast<std::size_t>(info.joints), 0.0f);
    if (!pose.empty()) pose[0] = 0.3f;  // a turn of the root: every joint transform is used
    std::vector<float> posed(static_cast<std::size_t>(n3)), normals(static_cast<std::size_t>(n3));
    // Every input is finite and of the model's sizes: the frame must succeed (its vertices
    // may still overflow to Inf for a bundle of huge values; outputs are not checked).
    const smm_status evaluated =
        smm_evaluate(posed.data(), normals.data(), evaluator, character, expression.data(), info.expressions,
                     pose.data(), static_cast<int>(pose.size()), info.vertices);
    expect(evaluated == SMM_OK, "smm_evaluate failed", smm_evaluator_message(evaluator));
    expect(smm_evaluator_message(evaluator)[0] == '\0', "smm_evaluate succeeded but left a message",
           smm_evaluator_message(evaluator));
    smm_character_destroy(character);
  }
  smm_evaluator_destroy(evaluator);
}

// Loads `data` as a .smm archive, checks the error contract, uses the model if it loaded.
inline void load_and_use(const std::uint8_t* data, std::size_t size) {
  char error[512];
  std::memset(error, 'x', sizeof error);
  error[sizeof error - 1] = '\0';
  smm_model* model = reinterpret_cast<smm_model*>(&error);  // must be overwritten
  // A zero-size input would be refused for its size alone; pass one byte of nothing instead.
  static const std::uint8_t empty = 0;
  const smm_status status =
      smm_model_load_memory(&model, size ? data : &empty, size ? static_cast<long long>(size) : 1, error, sizeof error);
  expect(std::memchr(error, '\0', sizeof error) != nullptr, "the error message is not NUL-terminated");
  if (status != SMM_OK) {
    expect(model == nullptr, "a failed load left *out set", error);
    expect(error[0] != '\0', "a failed load left the error buffer empty", smm_status_string(status));
    expect(status == SMM_ERR_BAD_BUNDLE || status == SMM_ERR_VERSION || status == SMM_ERR_UNSUPPORTED ||
               status == SMM_ERR_OUT_OF_MEMORY,
           "an unexpected status for a bad bundle", error);
    return;
  }
  expect(model != nullptr, "a successful load returned no model");
  expect(error[0] == '\0', "a successful load left a message", error);
  use_model(model);
  smm_model_destroy(model);
}

}  // namespace fuzz
