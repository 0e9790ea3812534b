// The tracking solver's C ABI (stylemm.h, smm_face_solver_*): a random 478-landmark model
// posed and projected exactly must give back its pose and weights (cold from 2D and from 3D
// landmarks, then warm frames that allocate nothing); masks, argument errors and their messages.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <Eigen/Geometry>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "allocations.h"
#include "stylemm/stylemm.h"

namespace {

constexpr int kL = 478;
constexpr int kWidth = 640, kHeight = 480;
constexpr float kFocal = 580.0f;

// A random face-sized landmark model (52 units, as ARKit's): points in a 14 x 18 x 8 cm box in front of the pivot.
struct RandomModel {
  std::vector<float> rest, basis, pivot{0.0f, -0.06f, -0.02f}, head;
  std::vector<std::string> names{"jawOpen", "mouthClose", "eyeBlinkLeft", "eyeLookInLeft", "eyeLookOutLeft",
                                 "mouthSmileLeft", "browInnerUp", "cheekPuff"};
  std::vector<const char*> name_pointers;
  int e() const { return static_cast<int>(names.size()); }

  explicit RandomModel(unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-1, 1);
    std::uniform_real_distribution<float> head_weight(0.6f, 1.0f);
    for (int l = 0; l < kL; ++l) {
      rest.push_back(0.07f * uniform(rng));
      rest.push_back(0.09f * uniform(rng));
      rest.push_back(0.04f * uniform(rng) + 0.05f);
      head.push_back(head_weight(rng));
    }
    while (names.size() < 52) names.push_back("unit" + std::to_string(names.size()));  // ARKit's count
    for (const std::string& n : names) name_pointers.push_back(n.c_str());
    for (int i = 0; i < e() * kL * 3; ++i) basis.push_back(0.01f * uniform(rng));
  }

  // Pixels (L, dims) of the model at weights, posed by axis_angle and moved by translation,
  // as LandmarkModel.points and PinholeCamera.project (dims 3: MediaPipe-like depth, larger = further).
  std::vector<float> project(const std::vector<double>& w, const Eigen::Vector3d& axis_angle,
                             const Eigen::Vector3d& translation, int dims) const {
    const double angle = axis_angle.norm();
    const Eigen::Matrix3d r =
        angle > 0 ? Eigen::AngleAxisd(angle, axis_angle / angle).toRotationMatrix() : Eigen::Matrix3d::Identity();
    const Eigen::Vector3d p0(pivot[0], pivot[1], pivot[2]);
    std::vector<float> out;
    for (int l = 0; l < kL; ++l) {
      Eigen::Vector3d u(rest[3 * l], rest[3 * l + 1], rest[3 * l + 2]);
      for (int k = 0; k < e(); ++k)
        for (int d = 0; d < 3; ++d) u[d] += w[static_cast<std::size_t>(k)] * basis[(k * kL + l) * 3 + d];
      const Eigen::Vector3d p = head[l] * (r * (u - p0) + p0) + (1 - head[l]) * u + translation;
      out.push_back(static_cast<float>(kWidth / 2.0 + kFocal * p.x() / -p.z()));
      out.push_back(static_cast<float>(kHeight / 2.0 - kFocal * p.y() / -p.z()));
      if (dims == 3) out.push_back(static_cast<float>(-p.z() * kFocal / 0.6));
    }
    return out;
  }

  smm_face_solver* solver(const smm_solver_settings& settings) const {
    smm_face_solver* s = nullptr;
    char error[256] = "";
    REQUIRE(smm_face_solver_create(&s, rest.data(), basis.data(), pivot.data(), head.data(), nullptr,
                                   name_pointers.data(), kL, e(), &settings, error, sizeof error) == SMM_OK);
    return s;
  }
};

// No priors and enough steps: exact landmarks must be explained exactly.
smm_solver_settings exact() {
  smm_solver_settings s;
  REQUIRE(smm_solver_settings_default(&s) == SMM_OK);
  s.weight_prior = s.temporal_prior = s.sparsity = s.antagonist = 0.0;
  s.iterations = 8;
  s.cold_iterations = 20;
  return s;
}

double angle_between(const float* a, const Eigen::Vector3d& b) {
  const Eigen::Vector3d v(a[0], a[1], a[2]);
  const Eigen::Matrix3d ra = Eigen::AngleAxisd(v.norm(), v.normalized()).toRotationMatrix();
  const Eigen::Matrix3d rb = Eigen::AngleAxisd(b.norm(), b.normalized()).toRotationMatrix();
  return Eigen::AngleAxisd(ra.transpose() * rb).angle();
}

}  // namespace

TEST_CASE("face solver: the defaults are SolverSettings'") {
  smm_solver_settings s;
  REQUIRE(smm_solver_settings_default(&s) == SMM_OK);
  CHECK(s.weight_prior == 1e-2);
  CHECK(s.temporal_prior == 5e-3);
  CHECK(s.sparsity == 1e-2);
  CHECK(s.antagonist == 0.1);
  CHECK(s.iris_open_low == 0.35);
  CHECK(s.iris_open_high == 0.7);
  CHECK(s.iterations == 1);
  CHECK(s.cold_iterations == 12);
  CHECK(smm_solver_settings_default(nullptr) == SMM_ERR_NULL_POINTER);
}

TEST_CASE("face solver: exact projections give back the pose and the weights, cold and warm") {
  const RandomModel model(3);
  smm_face_solver* solver = model.solver(exact());
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<float> weights(static_cast<std::size_t>(model.e()));
  smm_face_fit fit{};
  for (int frame = 0; frame < 6; ++frame) {
    std::vector<double> truth(static_cast<std::size_t>(model.e()));
    for (double& w : truth) w = uniform(rng) < 0.3 ? 0.0 : 0.1 + 0.8 * uniform(rng);
    const Eigen::Vector3d axis_angle(0.2 * (uniform(rng) - 0.5), 0.5 * (uniform(rng) - 0.5), 0.1 * (uniform(rng) - 0.5));
    const Eigen::Vector3d translation(0.1 * (uniform(rng) - 0.5), 0.1 * (uniform(rng) - 0.5), -0.5 - 0.3 * uniform(rng));
    const int dims = frame % 2 ? 3 : 2;  // 3: the Procrustes start; 2: identity and depth from size
    const std::vector<float> landmarks = model.project(truth, axis_angle, translation, dims);
    REQUIRE(smm_face_solver_reset(solver) == SMM_OK);
    INFO("frame " << frame << ", dims " << dims);
    REQUIRE(smm_face_solver_solve(&fit, weights.data(), solver, landmarks.data(), dims, nullptr, kWidth, kHeight,
                                  kFocal, kL, model.e()) == SMM_OK);
    CHECK(fit.cold == 1);
    CHECK(angle_between(fit.axis_angle, axis_angle) < 1e-5);
    for (int d = 0; d < 3; ++d) CHECK(fit.translation[d] == Approx(translation[d]).margin(1e-5));
    for (int k = 0; k < model.e(); ++k) CHECK(weights[static_cast<std::size_t>(k)] == Approx(truth[static_cast<std::size_t>(k)]).margin(1e-4));
    CHECK(fit.rms < 1e-5);
  }
  // Warm: a small move from the last frame, followed in the warm steps, with no allocation.
  std::vector<double> truth(static_cast<std::size_t>(model.e()), 0.3);
  const Eigen::Vector3d axis_angle(fit.axis_angle[0] + 0.02, fit.axis_angle[1] - 0.03, fit.axis_angle[2]);
  const Eigen::Vector3d translation(fit.translation[0] + 0.005, fit.translation[1], fit.translation[2] - 0.01);
  const std::vector<float> landmarks = model.project(truth, axis_angle, translation, 2);
  const long before = test::allocations();
  REQUIRE(smm_face_solver_solve(&fit, weights.data(), solver, landmarks.data(), 2, nullptr, kWidth, kHeight, kFocal,
                                kL, model.e()) == SMM_OK);
  CHECK(test::allocations() == before);
  CHECK(fit.cold == 0);
  CHECK(angle_between(fit.axis_angle, axis_angle) < 1e-5);
  for (int k = 0; k < model.e(); ++k) CHECK(weights[static_cast<std::size_t>(k)] == Approx(0.3).margin(1e-4));
  smm_face_solver_destroy(solver);
}

TEST_CASE("face solver: a masked unit stays at 0 while the rest explain what they can") {
  const RandomModel model(5);
  smm_face_solver* solver = model.solver(exact());
  std::vector<double> truth(static_cast<std::size_t>(model.e()), 0.5);
  const std::vector<float> landmarks = model.project(truth, Eigen::Vector3d(0.05, 0.1, 0), Eigen::Vector3d(0, 0, -0.6), 2);
  std::vector<unsigned char> mask(static_cast<std::size_t>(model.e()), 1);
  mask[0] = 0;
  std::vector<float> weights(static_cast<std::size_t>(model.e()), -1.0f);
  smm_face_fit fit{};
  REQUIRE(smm_face_solver_solve(&fit, weights.data(), solver, landmarks.data(), 2, mask.data(), kWidth, kHeight,
                                kFocal, kL, model.e()) == SMM_OK);
  CHECK(weights[0] == 0.0f);
  for (float w : weights) CHECK((w >= 0.0f && w <= 1.0f));
  CHECK(fit.rms > 1e-3);  // jawOpen's motion is left unexplained
  smm_face_solver_destroy(solver);
}

TEST_CASE("face solver: bad arguments are refused with a status and a message, writing nothing") {
  const RandomModel model(1);
  smm_face_solver* solver = nullptr;
  char error[256] = "";
  CHECK(smm_face_solver_create(&solver, model.rest.data(), model.basis.data(), model.pivot.data(), model.head.data(),
                               nullptr, model.name_pointers.data(), 468, model.e(), nullptr, error,
                               sizeof error) == SMM_ERR_SIZE);
  CHECK(solver == nullptr);
  CHECK(std::string(error).find("478") != std::string::npos);
  CHECK(smm_face_solver_create(&solver, model.rest.data(), nullptr, model.pivot.data(), model.head.data(), nullptr,
                               model.name_pointers.data(), kL, model.e(), nullptr, error, sizeof error) ==
        SMM_ERR_NULL_POINTER);
  smm_solver_settings bad = exact();
  bad.iterations = 0;
  CHECK(smm_face_solver_create(&solver, model.rest.data(), model.basis.data(), model.pivot.data(), model.head.data(),
                               nullptr, model.name_pointers.data(), kL, model.e(), &bad, error, sizeof error) ==
        SMM_ERR_INVALID_ARGUMENT);
  std::vector<float> zeros(kL, 0.0f);
  CHECK(smm_face_solver_create(&solver, model.rest.data(), model.basis.data(), model.pivot.data(), model.head.data(),
                               zeros.data(), model.name_pointers.data(), kL, model.e(), nullptr, error, sizeof error) ==
        SMM_ERR_INVALID_ARGUMENT);

  solver = model.solver(exact());
  std::vector<float> landmarks = model.project(std::vector<double>(static_cast<std::size_t>(model.e()), 0.2),
                                               Eigen::Vector3d::Zero(), Eigen::Vector3d(0, 0, -0.6), 2);
  std::vector<float> weights(static_cast<std::size_t>(model.e()), 7.0f);
  smm_face_fit fit{};
  fit.rms = 7.0f;
  landmarks[100] = std::numeric_limits<float>::quiet_NaN();
  CHECK(smm_face_solver_solve(&fit, weights.data(), solver, landmarks.data(), 2, nullptr, kWidth, kHeight, kFocal, kL,
                              model.e()) == SMM_ERR_NON_FINITE);
  CHECK(std::string(smm_face_solver_message(solver)).find("landmarks") != std::string::npos);
  CHECK(weights[0] == 7.0f);
  CHECK(fit.rms == 7.0f);
  landmarks[100] = 320.0f;
  CHECK(smm_face_solver_solve(&fit, weights.data(), solver, landmarks.data(), 4, nullptr, kWidth, kHeight, kFocal, kL,
                              model.e()) == SMM_ERR_SIZE);
  CHECK(smm_face_solver_solve(&fit, weights.data(), solver, landmarks.data(), 2, nullptr, kWidth, kHeight, kFocal, kL,
                              model.e() - 1) == SMM_ERR_SIZE);
  CHECK(smm_face_solver_solve(&fit, weights.data(), solver, landmarks.data(), 2, nullptr, 0, kHeight, kFocal, kL,
                              model.e()) == SMM_ERR_INVALID_ARGUMENT);
  CHECK(weights[0] == 7.0f);
  // Every landmark on one point: no size, no depth; refused, and the next frame starts cold.
  std::vector<float> point(2 * kL, 100.0f);
  CHECK(smm_face_solver_solve(&fit, weights.data(), solver, point.data(), 2, nullptr, kWidth, kHeight, kFocal, kL,
                              model.e()) == SMM_ERR_INVALID_ARGUMENT);
  REQUIRE(smm_face_solver_solve(&fit, weights.data(), solver, landmarks.data(), 2, nullptr, kWidth, kHeight, kFocal,
                                kL, model.e()) == SMM_OK);
  CHECK(fit.cold == 1);
  CHECK(std::string(smm_face_solver_message(solver)).empty());
  CHECK(smm_face_solver_solve(&fit, weights.data(), nullptr, landmarks.data(), 2, nullptr, kWidth, kHeight, kFocal, kL,
                              model.e()) == SMM_ERR_NULL_POINTER);
  CHECK(smm_face_solver_reset(nullptr) == SMM_ERR_NULL_POINTER);
  smm_face_solver_destroy(solver);
  smm_face_solver_destroy(nullptr);
}
