// The C ABI of the tracking solver (stylemm.h, "Tracking"): argument checks, then
// stylemm::FaceSolver (face_solver.h). Errors as everywhere (guarded.h).
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "face_solver.h"
#include "guarded.h"
#include "mediapipe_topology.h"
#include "rotations.h"
#include "stylemm/stylemm.h"

struct smm_face_solver_ {
  explicit smm_face_solver_(std::unique_ptr<stylemm::FaceSolver> s) : solver(std::move(s)) {}
  std::unique_ptr<stylemm::FaceSolver> solver;
  std::string message;
};

namespace {

using stylemm::Index;
using stylemm::abi::fail;
using stylemm::abi::guarded;
using stylemm::abi::make;
using stylemm::abi::need;
using stylemm::abi::need_finite;

stylemm::FaceSolverSettings checked(const smm_solver_settings* given) {
  stylemm::FaceSolverSettings s;
  if (!given) return s;
  for (double value : {given->weight_prior, given->temporal_prior, given->sparsity, given->antagonist})
    need(std::isfinite(value) && value >= 0, SMM_ERR_INVALID_ARGUMENT,
         "settings: the priors, sparsity and antagonist costs must be finite and >= 0");
  need(std::isfinite(given->iris_open_low) && std::isfinite(given->iris_open_high) &&
           given->iris_open_low < given->iris_open_high,
       SMM_ERR_INVALID_ARGUMENT, "settings: iris_open_low must be finite and below iris_open_high");
  need(given->iterations >= 1 && given->cold_iterations >= 1, SMM_ERR_INVALID_ARGUMENT,
       "settings: iterations and cold_iterations must be >= 1");
  s.weight_prior = given->weight_prior;
  s.temporal_prior = given->temporal_prior;
  s.sparsity = given->sparsity;
  s.antagonist = given->antagonist;
  s.iris_open_low = given->iris_open_low;
  s.iris_open_high = given->iris_open_high;
  s.iterations = given->iterations;
  s.cold_iterations = given->cold_iterations;
  return s;
}

bool finite_fit(const stylemm::FaceFit& fit) {
  return fit.rotation.allFinite() && fit.translation.allFinite() && fit.weights.allFinite() && std::isfinite(fit.rms);
}

}  // namespace

extern "C" {

smm_status smm_solver_settings_default(smm_solver_settings* out) {
  if (!out) return SMM_ERR_NULL_POINTER;
  const stylemm::FaceSolverSettings s;
  *out = {s.weight_prior, s.temporal_prior, s.sparsity, s.antagonist, s.iris_open_low, s.iris_open_high,
          s.iterations, s.cold_iterations};
  return SMM_OK;
}

smm_status smm_face_solver_create(smm_face_solver** out, const float* rest, const float* basis, const float* pivot,
                                  const float* head_weight, const float* landmark_weights,
                                  const char* const* expression_names, int n_landmarks, int n_expressions,
                                  const smm_solver_settings* settings, char* error, int error_size) {
  if (out) *out = nullptr;
  return make(error, error_size, [&] {
    need(out && rest && basis && pivot && head_weight && expression_names, SMM_ERR_NULL_POINTER,
         "out, rest, basis, pivot, head_weight and expression_names must not be NULL");
    need(n_expressions >= 1, SMM_ERR_INVALID_ARGUMENT, "n_expressions must be >= 1");
    if (n_landmarks != stylemm::mediapipe::kLandmarks)
      fail(SMM_ERR_SIZE, "n_landmarks is " + std::to_string(n_landmarks) +
                             ": the solver fits MediaPipe's 478-point face mesh (its eye and iris indices)");
    const Index l = n_landmarks, e = n_expressions;
    need_finite(rest, 3 * l, "rest");
    need_finite(basis, 3 * l * e, "basis");
    need_finite(pivot, 3, "pivot");
    need_finite(head_weight, l, "head_weight");
    std::vector<double> weights = stylemm::mediapipe::default_landmark_weights();
    if (landmark_weights) {
      need_finite(landmark_weights, l, "landmark_weights");
      bool any = false;
      for (Index i = 0; i < l; ++i) {
        need(landmark_weights[i] >= 0, SMM_ERR_INVALID_ARGUMENT, "landmark_weights must be >= 0");
        weights[static_cast<std::size_t>(i)] = landmark_weights[i];
        any = any || landmark_weights[i] > 0;
      }
      need(any, SMM_ERR_INVALID_ARGUMENT, "landmark_weights: at least one landmark must have a weight above 0");
    }
    std::vector<std::string> names;
    for (Index i = 0; i < e; ++i) {
      need(expression_names[i] != nullptr, SMM_ERR_NULL_POINTER, "expression_names holds a NULL name");
      names.emplace_back(expression_names[i]);
    }
    const stylemm::FaceSolverSettings s = checked(settings);
    auto solver = std::make_unique<stylemm::FaceSolver>(rest, basis, pivot, head_weight, std::move(weights), names,
                                                        n_landmarks, s);
    *out = new smm_face_solver_(std::move(solver));
  });
}

void smm_face_solver_destroy(smm_face_solver* solver) { delete solver; }

smm_status smm_face_solver_solve(smm_face_fit* out, float* weights, smm_face_solver* solver, const float* landmarks,
                                 int dims, const unsigned char* mask, int width, int height, float focal,
                                 int n_landmarks, int n_weights) {
  if (!solver) return SMM_ERR_NULL_POINTER;
  return guarded(solver->message, [&] {
    stylemm::FaceSolver& s = *solver->solver;
    need(out && weights && landmarks, SMM_ERR_NULL_POINTER, "out, weights and landmarks must not be NULL");
    if (n_landmarks != s.landmarks() || (dims != 2 && dims != 3))
      fail(SMM_ERR_SIZE, "landmarks must be (" + std::to_string(s.landmarks()) + ", 2 or 3) pixels, got (" +
                             std::to_string(n_landmarks) + ", " + std::to_string(dims) + ")");
    if (n_weights != s.expressions())
      fail(SMM_ERR_SIZE, "n_weights is " + std::to_string(n_weights) + ", the solver has " +
                             std::to_string(s.expressions()) + " expressions");
    need(width > 0 && height > 0 && std::isfinite(focal) && focal > 0, SMM_ERR_INVALID_ARGUMENT,
         "width, height and focal must be > 0 (pixels)");
    need_finite(landmarks, Index{n_landmarks} * dims, "landmarks");
    const stylemm::FaceFit& fit = s.solve(landmarks, dims, {double(width), double(height), double(focal)}, mask);
    if (!finite_fit(fit)) {
      s.reset();
      fail(SMM_ERR_INVALID_ARGUMENT, "these landmarks give no pose (all on one point, or the fit diverged); the "
                                     "next frame starts cold");
    }
    const Eigen::Vector3d axis_angle = stylemm::rotation_log(fit.rotation);
    for (int d = 0; d < 3; ++d) {
      out->axis_angle[d] = static_cast<float>(axis_angle[d]);
      out->translation[d] = static_cast<float>(fit.translation[d]);
    }
    out->rms = static_cast<float>(fit.rms);
    out->cold = fit.cold ? 1 : 0;
    for (int j = 0; j < n_weights; ++j) weights[j] = static_cast<float>(fit.weights[j]);
  });
}

smm_status smm_face_solver_reset(smm_face_solver* solver) {
  if (!solver) return SMM_ERR_NULL_POINTER;
  solver->solver->reset();
  solver->message.clear();
  return SMM_OK;
}

const char* smm_face_solver_message(const smm_face_solver* solver) { return solver ? solver->message.c_str() : ""; }

}  // extern "C"
