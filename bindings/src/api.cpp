// The C ABI of handles (stylemm.h): models, evaluators, characters and frames. Every
// function checks its arguments, runs inside `guarded` (guarded.h) so no C++ exception crosses the ABI,
// and keeps its message with a handle (the evaluator) or in the caller's error buffer.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "bundle.h"
#include "error.h"
#include "guarded.h"
#include "kernels.h"
#include "model.h"
#include "stylemm/stylemm.h"
#include "worker_pool.h"

struct smm_character_ {
  const smm_model_* model = nullptr;
  std::vector<float> neutral;      // (N, 3)
  std::vector<float> deltas;       // (E, N, 3)
  std::vector<float> rest_joints;  // (J, 3): the joints follow the identity, not the expression
};

namespace {

// One worker's memory for frames, allocated with the evaluator so that frames allocate nothing.
struct FrameScratch {
  using Floats = std::vector<float, Eigen::aligned_allocator<float>>;
  explicit FrameScratch(const smm_model_& model)
      : transforms(16 * static_cast<std::size_t>(model.joints)),
        columns(16 * static_cast<std::size_t>(model.joints)),
        points(4 * static_cast<std::size_t>(model.vertices)),
        sums(4 * static_cast<std::size_t>(model.vertices)) {}
  std::vector<float> transforms;  // (J, 4, 4)
  Floats columns;                 // (J, 4, 4): stylemm::joint_columns
  Floats points, sums;            // (N, 4): stylemm::pad's layout, for skinning and normals
};

}  // namespace

struct smm_evaluator_ {
  smm_evaluator_(const smm_model_* m, int threads) : model(m), pool(threads) {
    for (int w = 0; w < threads; ++w) {
      frames.emplace_back(*m);
      if (m->deformer) deform.push_back(m->deformer->scratch());
    }
  }
  const smm_model_* model;
  stylemm::WorkerPool pool;
  std::vector<FrameScratch> frames;                  // per worker
  std::vector<stylemm::DeformerScratch> deform;      // per worker, when the model can deform
  std::string message;
};

namespace {

using stylemm::Error;
using stylemm::Index;

constexpr int kMaxFit = 4096;  // fitted-bake samples: 16x stylemm_runtime's default, ~250 MB of meshes for OpenHead

using stylemm::abi::fail;
using stylemm::abi::guarded;
using stylemm::abi::make;
using stylemm::abi::need;
using stylemm::abi::need_finite;

void need_size(long long given, long long wanted, const char* what) {
  if (given != wanted)
    fail(SMM_ERR_SIZE, std::string(what) + ": got " + std::to_string(given) + ", the model needs " + std::to_string(wanted));
}


template <typename T>
smm_status copy_out(T* out, const std::vector<T>& values, int size) {
  if (!out) return SMM_ERR_NULL_POINTER;
  if (size < 0 || static_cast<std::size_t>(size) != values.size()) return SMM_ERR_SIZE;
  std::copy(values.begin(), values.end(), out);
  return SMM_OK;
}

smm_status copy_name(char* out, const std::vector<std::string>& names, int index, int size) {
  if (!out) return SMM_ERR_NULL_POINTER;
  if (index < 0 || static_cast<std::size_t>(index) >= names.size()) return SMM_ERR_INVALID_ARGUMENT;
  const std::string& name = names[static_cast<std::size_t>(index)];
  if (size <= 0 || static_cast<std::size_t>(size) <= name.size()) return SMM_ERR_SIZE;
  std::memcpy(out, name.c_str(), name.size() + 1);
  return SMM_OK;
}

// ---- the deformer over many (shape, expression) pairs, one pair per item ---------------

struct DeformJob {
  smm_evaluator_* evaluator;
  const float* shapes;  // (count, K), or one shape for every item when shape_stride is 0
  Index shape_stride;
  const float* expressions;  // (count, E)
  float* out;                // (count, N, 3)
  std::atomic<bool> out_of_memory{false};
};

// Runs on the pool's threads, so nothing may escape it: Eigen's temporaries can throw bad_alloc.
void deform_item(void* context, int item, int worker) {
  auto& job = *static_cast<DeformJob*>(context);
  const smm_model_& model = *job.evaluator->model;
  try {
    model.deformer->evaluate(job.shapes + job.shape_stride * item, job.expressions + Index{model.expressions} * item,
                             job.out + 3 * Index{model.vertices} * item, job.evaluator->deform[worker]);
  } catch (...) {
    job.out_of_memory = true;
  }
}

void deform(smm_evaluator_& evaluator, const float* shapes, Index shape_stride, const float* expressions, int count,
            float* out) {
  if (!evaluator.model->deformer)
    fail(SMM_ERR_UNSUPPORTED, "this bundle has no deformer weights (networks.deformer.native): re-export it with a "
                              "newer stylemm-export, or bake the characters elsewhere (smm_character_create_baked)");
  DeformJob job{&evaluator, shapes, shape_stride, expressions, out};
  evaluator.pool.run(count, deform_item, &job);
  if (job.out_of_memory) throw std::bad_alloc();
}

// ---- baking --------------------------------------------------------------------------

using MatrixXfRow = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows: the expressions at which the deformer is evaluated: 0, the E units, the fit samples.
MatrixXfRow bake_weights(const smm_model_& model, const float* fit, int n_fit) {
  const int e = model.expressions;
  MatrixXfRow weights = MatrixXfRow::Zero(1 + e + n_fit, e);
  for (int k = 0; k < e; ++k) weights(1 + k, k) = model.expression_unit;
  if (n_fit) weights.bottomRows(n_fit) = Eigen::Map<const MatrixXfRow>(fit, n_fit, e);
  return weights;
}

// Deltas (E, 3N) from meshes (rows, 3N) at `weights`: unit differences, or least squares
// over every row but the neutral one (stylemm_runtime.baking's "fitted").
MatrixXfRow bake_deltas(const MatrixXfRow& weights, MatrixXfRow& meshes, float unit, bool fitted) {
  const Index e = weights.cols();
  meshes.bottomRows(meshes.rows() - 1).rowwise() -= meshes.row(0);
  if (!fitted) return meshes.middleRows(1, e) / unit;
  const Eigen::MatrixXd design = weights.bottomRows(weights.rows() - 1).cast<double>();
  const Eigen::MatrixXd gram = design.transpose() * design;
  const Eigen::MatrixXd moments = design.transpose() * meshes.bottomRows(meshes.rows() - 1).cast<double>();
  const Eigen::LDLT<Eigen::MatrixXd> solver(gram);
  if (solver.info() != Eigen::Success) fail(SMM_ERR_INVALID_ARGUMENT, "the fit expressions make the bake singular");
  return solver.solve(moments).cast<float>();
}

std::unique_ptr<smm_character_> bake(smm_evaluator_& evaluator, const float* shape, const float* fit, int n_fit) {
  const smm_model_& model = *evaluator.model;
  const Index n3 = 3 * Index{model.vertices};
  const MatrixXfRow weights = bake_weights(model, fit, n_fit);
  MatrixXfRow meshes(weights.rows(), n3);
  deform(evaluator, shape, 0, weights.data(), static_cast<int>(weights.rows()), meshes.data());
  auto character = std::make_unique<smm_character_>();
  character->model = &model;
  character->neutral.assign(meshes.row(0).data(), meshes.row(0).data() + n3);
  const MatrixXfRow deltas = bake_deltas(weights, meshes, model.expression_unit, n_fit > 0);
  character->deltas.assign(deltas.data(), deltas.data() + deltas.size());
  return character;
}

void regress_joints(smm_character_& character) {
  const smm_model_& model = *character.model;
  const Eigen::Map<const MatrixXfRow> regressor(model.joint_regressor.data(), model.joints, model.vertices);
  const Eigen::Map<const MatrixXfRow> neutral(character.neutral.data(), model.vertices, 3);
  const Eigen::MatrixXd joints = regressor.cast<double>() * neutral.cast<double>();
  character.rest_joints.resize(3 * static_cast<std::size_t>(model.joints));
  Eigen::Map<MatrixXfRow>(character.rest_joints.data(), model.joints, 3) = joints.cast<float>();
}

// ---- frames ------------------------------------------------------------------------------

void frame(const smm_character_& character, const float* expression, const float* pose, float* vertices,
           float* normals, FrameScratch& scratch) {
  const smm_model_& model = *character.model;
  stylemm::blend(vertices, character.neutral.data(), character.deltas.data(), expression, model.vertices,
                 model.expressions);
  float* points = scratch.points.data();
  if (pose) {
    stylemm::joint_transforms(scratch.transforms.data(), character.rest_joints.data(), model.parents.data(), pose,
                              model.joints);
    stylemm::joint_columns(scratch.columns.data(), scratch.transforms.data(), model.joints);
    stylemm::skin_planned(points, vertices, model.skin_plan, scratch.columns.data());
    stylemm::unpad(vertices, points, model.vertices);
  } else if (normals) {
    stylemm::pad(points, vertices, model.vertices);
  }
  if (normals)
    stylemm::vertex_normals(normals, points, model.faces.data(), model.vertices, model.triangles,
                            scratch.sums.data());
}

void check_frame_sizes(const smm_model_& model, int n_expressions, const float* pose, int n_pose, int n_vertices) {
  need_size(n_expressions, model.expressions, "n_expressions (expression weights)");
  need_size(n_vertices, model.vertices, "n_vertices (vertices and normals hold n_vertices * 3 floats)");
  if (pose) need_size(n_pose, 3LL * model.joints, "n_pose (3 axis-angle values per joint)");
  if (!pose && n_pose != 0) fail(SMM_ERR_SIZE, "n_pose must be 0 when pose is NULL (the rest pose)");
}

void check_character(const smm_evaluator_& evaluator, const smm_character_* character) {
  need(character != nullptr, SMM_ERR_NULL_POINTER, "character is NULL");
  need(character->model == evaluator.model, SMM_ERR_INVALID_ARGUMENT,
       "the character and the evaluator come from different models");
}

struct CrowdJob {
  smm_evaluator_* evaluator;
  const smm_character* const* characters;
  const float* expressions;
  const float* poses;
  float* vertices;
  float* normals;
};

void crowd_item(void* context, int item, int worker) {
  auto& job = *static_cast<CrowdJob*>(context);
  const smm_model_& model = *job.evaluator->model;
  const Index n3 = 3 * Index{model.vertices};
  frame(*job.characters[item], job.expressions + Index{model.expressions} * item,
        job.poses ? job.poses + 3 * Index{model.joints} * item : nullptr, job.vertices + n3 * item,
        job.normals ? job.normals + n3 * item : nullptr, job.evaluator->frames[worker]);
}

}  // namespace

extern "C" {

int smm_version(void) { return STYLEMM_VERSION; }

const char* smm_status_string(smm_status status) {
  switch (status) {
    case SMM_OK:
      return "ok";
    case SMM_ERR_INVALID_ARGUMENT:
      return "invalid argument: counts must be positive (and the arrays they imply must fit in memory)";
    case SMM_ERR_NON_FINITE:
      return "an input contains NaN or Inf";
    case SMM_ERR_NULL_POINTER:
      return "a required pointer is NULL";
    case SMM_ERR_INVALID_PARENTS:
      return "invalid parents: the root comes first (parents[0] == -1) and every other joint's parent "
             "before it (0 <= parents[j] < j)";
    case SMM_ERR_IO:
      return "a file is missing or cannot be read";
    case SMM_ERR_BAD_BUNDLE:
      return "not a StyleMM bundle, or a damaged, truncated or modified one: export it again";
    case SMM_ERR_VERSION:
      return "version mismatch: a bundle newer than this library, or a library of another version than the header";
    case SMM_ERR_SIZE:
      return "a buffer's size or a count does not match the model";
    case SMM_ERR_OUT_OF_MEMORY:
      return "out of memory";
    case SMM_ERR_UNSUPPORTED:
      return "the bundle lacks what this call needs";
  }
  return "unknown status code";
}

smm_status smm_check_version(int header_version) {
  return header_version / 100 == STYLEMM_VERSION / 100 ? SMM_OK : SMM_ERR_VERSION;
}

smm_status smm_model_load(smm_model** out, const char* path, char* error, int error_size) {
  if (out) *out = nullptr;
  return make(error, error_size, [&] {
    need(out && path, SMM_ERR_NULL_POINTER, "out and path must not be NULL");
    *out = stylemm::load_model(stylemm::Bundle::from_path(path)).release();
  });
}

smm_status smm_model_load_memory(smm_model** out, const void* data, long long size, char* error, int error_size) {
  if (out) *out = nullptr;
  return make(error, error_size, [&] {
    need(out && data, SMM_ERR_NULL_POINTER, "out and data must not be NULL");
    need(size > 0, SMM_ERR_INVALID_ARGUMENT, "size must be positive (the .smm archive's byte count)");
    *out = stylemm::load_model(stylemm::Bundle::from_memory(static_cast<const std::uint8_t*>(data),
                                                            static_cast<std::size_t>(size)))
               .release();
  });
}

void smm_model_destroy(smm_model* model) { delete model; }

smm_status smm_model_get_info(smm_model_info* out, const smm_model* model) {
  if (!out || !model) return SMM_ERR_NULL_POINTER;
  *out = smm_model_info{model->vertices,    model->triangles, model->uv_vertices, model->shape_dim,
                        model->expressions, model->joints,    model->texture_dim};
  return SMM_OK;
}

smm_status smm_model_get_faces(int* out, const smm_model* model, int size) {
  return model ? copy_out(out, model->faces, size) : SMM_ERR_NULL_POINTER;
}

smm_status smm_model_get_uv_faces(int* out, const smm_model* model, int size) {
  return model ? copy_out(out, model->uv_faces, size) : SMM_ERR_NULL_POINTER;
}

smm_status smm_model_get_uvs(float* out, const smm_model* model, int size) {
  return model ? copy_out(out, model->uvs, size) : SMM_ERR_NULL_POINTER;
}

smm_status smm_model_get_template(float* out, const smm_model* model, int size) {
  return model ? copy_out(out, model->template_vertices, size) : SMM_ERR_NULL_POINTER;
}

smm_status smm_model_get_expression_name(char* out, const smm_model* model, int index, int size) {
  return model ? copy_name(out, model->expression_names, index, size) : SMM_ERR_NULL_POINTER;
}

smm_status smm_model_get_joint_name(char* out, const smm_model* model, int index, int size) {
  return model ? copy_name(out, model->joint_names, index, size) : SMM_ERR_NULL_POINTER;
}

int smm_model_find_expression(const smm_model* model, const char* name) {
  if (!model || !name) return -1;
  const auto& names = model->expression_names;
  const auto found = std::find(names.begin(), names.end(), name);
  return found == names.end() ? -1 : static_cast<int>(found - names.begin());
}

smm_status smm_evaluator_create(smm_evaluator** out, const smm_model* model, int threads, char* error,
                                int error_size) {
  if (out) *out = nullptr;
  return make(error, error_size, [&] {
    need(out && model, SMM_ERR_NULL_POINTER, "out and model must not be NULL");
    need(threads >= 1 && threads <= 256, SMM_ERR_INVALID_ARGUMENT, "threads must be in [1, 256]");
    *out = new smm_evaluator_(model, threads);
  });
}

void smm_evaluator_destroy(smm_evaluator* evaluator) { delete evaluator; }

const char* smm_evaluator_message(const smm_evaluator* evaluator) {
  return evaluator ? evaluator->message.c_str() : "evaluator is NULL";
}

smm_status smm_deform(float* out, smm_evaluator* evaluator, const float* shapes, const float* expressions, int count) {
  if (!evaluator) return SMM_ERR_NULL_POINTER;
  return guarded(evaluator->message, [&] {
    need(out && shapes && expressions, SMM_ERR_NULL_POINTER, "out, shapes and expressions must not be NULL");
    need(count > 0, SMM_ERR_INVALID_ARGUMENT, "count must be positive");
    const smm_model_& model = *evaluator->model;
    need_finite(shapes, Index{count} * model.shape_dim, "shapes");
    need_finite(expressions, Index{count} * model.expressions, "expressions");
    deform(*evaluator, shapes, model.shape_dim, expressions, count, out);
  });
}

smm_status smm_character_create(smm_character** out, smm_evaluator* evaluator, const float* shape, int shape_dim,
                                const float* fit_expressions, int n_fit) {
  if (out) *out = nullptr;
  if (!evaluator) return SMM_ERR_NULL_POINTER;
  return guarded(evaluator->message, [&] {
    need(out && shape, SMM_ERR_NULL_POINTER, "out and shape must not be NULL");
    const smm_model_& model = *evaluator->model;
    need_size(shape_dim, model.shape_dim, "shape_dim");
    need((n_fit == 0) == (fit_expressions == nullptr), SMM_ERR_INVALID_ARGUMENT,
         "fit_expressions must be NULL exactly when n_fit is 0");
    need(n_fit >= 0 && n_fit <= kMaxFit, SMM_ERR_INVALID_ARGUMENT, "n_fit must be in [0, 4096]");
    need_finite(shape, shape_dim, "shape");
    if (n_fit) need_finite(fit_expressions, Index{n_fit} * model.expressions, "fit_expressions");
    std::unique_ptr<smm_character_> character = bake(*evaluator, shape, fit_expressions, n_fit);
    regress_joints(*character);
    *out = character.release();
  });
}

smm_status smm_character_create_baked(smm_character** out, smm_evaluator* evaluator, const float* neutral,
                                      const float* deltas, int n_values) {
  if (out) *out = nullptr;
  if (!evaluator) return SMM_ERR_NULL_POINTER;
  return guarded(evaluator->message, [&] {
    need(out && neutral && deltas, SMM_ERR_NULL_POINTER, "out, neutral and deltas must not be NULL");
    const smm_model_& model = *evaluator->model;
    const Index n3 = 3 * Index{model.vertices};
    need_size(n_values, n3 * (model.expressions + 1), "n_values (3N for the neutral mesh plus 3N per expression)");
    need_finite(neutral, n3, "neutral");
    need_finite(deltas, n3 * model.expressions, "deltas");
    auto character = std::make_unique<smm_character_>();
    character->model = &model;
    character->neutral.assign(neutral, neutral + n3);
    character->deltas.assign(deltas, deltas + n3 * model.expressions);
    regress_joints(*character);
    *out = character.release();
  });
}

void smm_character_destroy(smm_character* character) { delete character; }

smm_status smm_character_get_neutral(float* out, const smm_character* character, int size) {
  return character ? copy_out(out, character->neutral, size) : SMM_ERR_NULL_POINTER;
}

smm_status smm_character_get_deltas(float* out, const smm_character* character, int size) {
  return character ? copy_out(out, character->deltas, size) : SMM_ERR_NULL_POINTER;
}

smm_status smm_evaluate(float* vertices, float* normals, smm_evaluator* evaluator, const smm_character* character,
                        const float* expression, int n_expressions, const float* pose, int n_pose, int n_vertices) {
  if (!evaluator) return SMM_ERR_NULL_POINTER;
  return guarded(evaluator->message, [&] {
    need(vertices && expression, SMM_ERR_NULL_POINTER, "vertices and expression must not be NULL");
    check_character(*evaluator, character);
    const smm_model_& model = *evaluator->model;
    check_frame_sizes(model, n_expressions, pose, n_pose, n_vertices);
    need_finite(expression, n_expressions, "expression");
    if (pose) need_finite(pose, n_pose, "pose");
    frame(*character, expression, pose, vertices, normals, evaluator->frames[0]);
  });
}

smm_status smm_evaluate_many(float* vertices, float* normals, smm_evaluator* evaluator,
                             const smm_character* const* characters, const float* expressions, int n_expressions,
                             const float* poses, int n_pose, int n_vertices, int count) {
  if (!evaluator) return SMM_ERR_NULL_POINTER;
  return guarded(evaluator->message, [&] {
    need(vertices && characters && expressions, SMM_ERR_NULL_POINTER,
         "vertices, characters and expressions must not be NULL");
    need(count > 0, SMM_ERR_INVALID_ARGUMENT, "count must be positive");
    const smm_model_& model = *evaluator->model;
    check_frame_sizes(model, n_expressions, poses, n_pose, n_vertices);
    for (int c = 0; c < count; ++c) check_character(*evaluator, characters[c]);
    need_finite(expressions, Index{count} * n_expressions, "expressions");
    if (poses) need_finite(poses, Index{count} * n_pose, "poses");
    CrowdJob job{evaluator, characters, expressions, poses, vertices, normals};
    evaluator->pool.run(count, crowd_item, &job);
  });
}

}  // extern "C"
