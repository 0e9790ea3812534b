// The tracking solver (face_solver.h), line for line after solver.py's FaceSolver.
#include "face_solver.h"

#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "error.h"
#include "mediapipe_topology.h"
#include "rotations.h"

namespace stylemm {

namespace {

// Units that move the same points in opposite directions, by name (both sides where sided).
constexpr const char* kOpposed[][2] = {
    {"eyeLookIn", "eyeLookOut"},    {"eyeLookUp", "eyeLookDown"},   {"eyeBlink", "eyeWide"},
    {"jawLeft", "jawRight"},        {"mouthLeft", "mouthRight"},    {"mouthSmile", "mouthFrown"},
    {"browDown", "browOuterUp"},    {"mouthPucker", "mouthStretch"}, {"mouthClose", "jawOpen"},
    {"mouthRollUpper", "mouthShrugUpper"}, {"mouthRollLower", "mouthShrugLower"}};

constexpr Eigen::Index kRowsPerUpdate = 128;

const mediapipe::Eye& eye_of(int side) { return side == 0 ? mediapipe::kRightEye : mediapipe::kLeftEye; }

// Lid gap over eye width of one eye (0 right, 1 left) of points (3, >= 478), in x and y.
double openness(const Eigen::Ref<const Eigen::Matrix3Xd>& points, int side) {
  const mediapipe::Eye& eye = eye_of(side);
  const double width = (points.col(eye.outer).head<2>() - points.col(eye.inner).head<2>()).norm();
  return (points.col(eye.upper).head<2>() - points.col(eye.lower).head<2>()).norm() / std::max(width, 1e-9);
}

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

Eigen::MatrixXd antagonist_matrix(const std::vector<std::string>& names) {
  const auto e = static_cast<Eigen::Index>(names.size());
  Eigen::MatrixXd opposed = Eigen::MatrixXd::Zero(e, e);
  auto find = [&](const std::string& name) -> Eigen::Index {
    // The last of equal names, as solver._antagonists' dict keeps it.
    for (Eigen::Index i = e - 1; i >= 0; --i)
      if (names[static_cast<std::size_t>(i)] == name) return i;
    return -1;
  };
  for (const auto& pair : kOpposed) {
    for (const char* side : {"Left", "Right", ""}) {
      const Eigen::Index a = find(std::string(pair[0]) + side), b = find(std::string(pair[1]) + side);
      if (a >= 0 && b >= 0) opposed(a, b) = opposed(b, a) = 1.0;
    }
  }
  return opposed;
}

FaceSolver::FaceSolver(const float* rest, const float* basis, const float* pivot, const float* head_weight,
                       std::vector<double> landmark_weights, const std::vector<std::string>& names, int landmarks,
                       const FaceSolverSettings& settings)
    : settings_(settings),
      num_landmarks_(landmarks),
      names_(names),
      landmark_weights_(std::move(landmark_weights)),
      qp_(6 + static_cast<int>(names.size())) {
  if (landmarks != mediapipe::kLandmarks || static_cast<int>(landmark_weights_.size()) != landmarks)
    throw Error(SMM_ERR_SIZE, "the solver fits MediaPipe's 478-point face mesh");
  const auto e = static_cast<Eigen::Index>(names.size());
  const auto k = 6 + e;
  for (int l = 0; l < landmarks; ++l)
    if (landmark_weights_[static_cast<std::size_t>(l)] > 0) used_.push_back(l);
  const auto u = static_cast<Eigen::Index>(used_.size());
  rest_all_.resize(3, landmarks);
  for (int l = 0; l < landmarks; ++l)
    for (int d = 0; d < 3; ++d) rest_all_(d, l) = rest[3 * l + d];
  rest_.resize(3, u);
  basis_.resize(3 * u, e);
  head_.resize(u);
  for (Eigen::Index i = 0; i < u; ++i) {
    const int l = used_[static_cast<std::size_t>(i)];
    rest_.col(i) = rest_all_.col(l);
    head_[i] = head_weight[l];
    for (Eigen::Index j = 0; j < e; ++j)
      for (int d = 0; d < 3; ++d) basis_(3 * i + d, j) = basis[(j * landmarks + l) * 3 + d];
  }
  pivot_ = Eigen::Vector3d(pivot[0], pivot[1], pivot[2]);
  for (int side = 0; side < 2; ++side) {
    rest_openness_[side] = openness(rest_all_, side);
    const std::string title = side == 0 ? "Right" : "Left";
    for (const std::string& name : names_) gaze_[side].push_back(name.rfind("eyeLook", 0) == 0 && ends_with(name, title));
  }
  opposed_ = antagonist_matrix(names_);

  fit_.weights = Eigen::VectorXd::Zero(e);
  observed_.resize(3, landmarks);
  trusted_.resize(landmarks);
  free_.assign(static_cast<std::size_t>(e), true);
  hold_.assign(static_cast<std::size_t>(e), false);
  previous_.resize(e);
  prior_.resize(e);
  flat_.resize(3 * u);
  residual_.resize(2 * u);
  error_.resize(2 * u);
  gradient_.resize(k);
  lower_.resize(k);
  upper_.resize(k);
  step_.resize(k);
  unposed_.resize(3, u);
  turned_.resize(3, u);
  points_.resize(3, u);
  jacobian_.resize(2 * u, k);
  hessian_.resize(k, k);
}

const FaceFit& FaceSolver::solve(const float* landmarks, int dims, const PinholeCamera& camera,
                                 const unsigned char* mask) {
  for (int l = 0; l < num_landmarks_; ++l)
    for (int d = 0; d < 3; ++d) observed_(d, l) = d < dims ? landmarks[dims * l + d] : 0.0;
  const bool warm = has_last_;
  const auto e = expressions();
  for (int j = 0; j < e; ++j) free_[static_cast<std::size_t>(j)] = mask == nullptr || mask[j] != 0;
  if (!warm) {
    initial_pose(camera, dims);
    fit_.weights.setZero();
  } else {
    previous_ = fit_.weights;  // the rotation, translation and weights carry over in fit_
  }
  for (int j = 0; j < e; ++j)
    if (!free_[static_cast<std::size_t>(j)]) fit_.weights[j] = 0.0;
  eye_trust(warm);
  gauss_newton(camera, warm, warm ? settings_.iterations : settings_.cold_iterations);
  fit_.cold = !warm;
  has_last_ = true;
  return fit_;
}

void FaceSolver::initial_pose(const PinholeCamera& camera, int dims) {
  const Eigen::Matrix3Xd rest = rest_all_.colwise() - pivot_;
  Eigen::Matrix3d rotation = Eigen::Matrix3d::Identity();
  if (dims == 3) {
    // Image axes (x right, y down, z away) to camera axes (x right, y up, z towards us).
    const Eigen::Matrix3Xd target = Eigen::Vector3d(1.0, -1.0, -1.0).asDiagonal() * observed_;
    const Eigen::Map<const Eigen::VectorXd> weights(landmark_weights_.data(), num_landmarks_);
    rotation = procrustes_rotation(rest, target, weights);
  }
  // Depth from the face's size in the image, then the translation that puts its centre on
  // the observed centre; Gauss-Newton refines both.
  const Eigen::Matrix3Xd turned = rotation * rest;
  const Eigen::Vector2d model_centre = turned.topRows<2>().rowwise().mean();
  const Eigen::Vector2d centre = observed_.topRows<2>().rowwise().mean();
  const double model_size = (turned.topRows<2>().colwise() - model_centre).colwise().norm().mean();
  const double image_size = (observed_.topRows<2>().colwise() - centre).colwise().norm().mean();
  const double depth = camera.focal * model_size / image_size;
  const Eigen::Vector3d ray((centre.x() - camera.width / 2) / camera.focal,
                            -(centre.y() - camera.height / 2) / camera.focal, -1.0);
  fit_.rotation = rotation;
  fit_.translation = ray * depth - turned.rowwise().mean() - pivot_;
}

void FaceSolver::eye_trust(bool warm) {
  for (int l = 0; l < num_landmarks_; ++l) trusted_[l] = landmark_weights_[static_cast<std::size_t>(l)];
  std::fill(hold_.begin(), hold_.end(), false);
  const double low = settings_.iris_open_low, high = settings_.iris_open_high;
  for (int side : {1, 0}) {  // left, then right, as solver._eye_trust
    const double trust = std::clamp((openness(observed_, side) / rest_openness_[side] - low) / (high - low), 0.0, 1.0);
    for (int i : eye_of(side).iris) trusted_[i] *= trust;
    if (warm && trust < 0.5)
      for (std::size_t j = 0; j < hold_.size(); ++j) hold_[j] = hold_[j] || gaze_[side][j];
  }
}

void FaceSolver::gauss_newton(const PinholeCamera& camera, bool warm, int iterations) {
  const FaceSolverSettings& s = settings_;
  const auto e = static_cast<Eigen::Index>(expressions());
  const auto u = static_cast<Eigen::Index>(used_.size());
  const double f = camera.focal;
  const mediapipe::Eye& right = mediapipe::kRightEye;
  const mediapipe::Eye& left = mediapipe::kLeftEye;
  // In inter-ocular distances (of the 2D observation, outer corner to outer corner).
  const double iod = std::max((observed_.col(right.outer).head<2>() - observed_.col(left.outer).head<2>()).norm(), 1e-6);
  // (1e-9: a unit no landmark sees, such as tongueOut, must not make the system singular)
  prior_.setConstant(s.weight_prior + 1e-9 + (warm ? s.temporal_prior : 0.0));
  lower_.head<6>().setConstant(-std::numeric_limits<double>::infinity());
  upper_.head<6>().setConstant(std::numeric_limits<double>::infinity());
  Eigen::Matrix3d& rotation = fit_.rotation;
  Eigen::Vector3d& translation = fit_.translation;
  Eigen::VectorXd& weights = fit_.weights;
  for (int iteration = 0; iteration < iterations; ++iteration) {
    flat_.noalias() = basis_ * weights;
    unposed_ = rest_ + Eigen::Map<const Eigen::Matrix3Xd>(flat_.data(), 3, u);
    points_ = unposed_.colwise() - pivot_;  // (a product would evaluate this into a temporary)
    turned_.noalias() = rotation * points_;
    for (Eigen::Index i = 0; i < u; ++i) {
      const int l = used_[static_cast<std::size_t>(i)];
      const double h = head_[i];
      const Eigen::Vector3d q = turned_.col(i);
      const Eigen::Vector3d p = h * (q + pivot_) + (1 - h) * unposed_.col(i) + translation;
      const double depth = -p.z();
      const double row_weight = std::sqrt(trusted_[l]) / iod;
      residual_[2 * i] = (camera.width / 2 + f * p.x() / depth - observed_(0, l)) * row_weight;
      residual_[2 * i + 1] = (camera.height / 2 - f * p.y() / depth - observed_(1, l)) * row_weight;
      Eigen::Matrix<double, 2, 3> projection;
      projection << f / depth, 0.0, f * p.x() / (depth * depth), 0.0, -f / depth, -f * p.y() / (depth * depth);
      projection *= row_weight;
      // The rotation increment multiplies on the left: d points = h * (increment x turned),
      // and a . (d x q) = d . (q x a).
      for (int a = 0; a < 2; ++a) {
        const Eigen::Vector3d row = projection.row(a).transpose();
        jacobian_.block<1, 3>(2 * i + a, 0) = h * q.cross(row).transpose();
        jacobian_.block<1, 3>(2 * i + a, 3) = row.transpose();
      }
      // d points / d weights = (h R + (1 - h) I) basis, per landmark.
      const Eigen::Matrix<double, 2, 3> through = h * (projection * rotation) + (1 - h) * projection;
      jacobian_.block(2 * i, 6, 2, e).noalias() = through * basis_.middleRows<3>(3 * i);
    }
    // J'J in slices of rows: Eigen packs each product's operands into blocks that live on the
    // stack only below 128 KB (EIGEN_STACK_ALLOCATION_LIMIT); the whole J (956 x 58 for ARKit's
    // 52) would need the heap on every frame.
    hessian_.setZero();
    for (Eigen::Index row = 0; row < jacobian_.rows(); row += kRowsPerUpdate) {
      const Eigen::Index rows = std::min<Eigen::Index>(kRowsPerUpdate, jacobian_.rows() - row);
      hessian_.selfadjointView<Eigen::Lower>().rankUpdate(jacobian_.middleRows(row, rows).transpose());
    }
    hessian_.triangularView<Eigen::StrictlyUpper>() = hessian_.transpose();
    gradient_.noalias() = jacobian_.transpose() * residual_;
    auto weight_gradient = gradient_.tail(e);
    weight_gradient += s.weight_prior * weights;
    weight_gradient.array() += s.sparsity;
    weight_gradient.noalias() += s.antagonist * (opposed_ * weights);
    if (warm) weight_gradient += s.temporal_prior * (weights - previous_);
    hessian_.diagonal().tail(e) += prior_;
    hessian_.diagonal().head<6>().array() += 1e-9;  // keeps the pose block invertible at any scale
    for (Eigen::Index j = 0; j < e; ++j) {
      const auto jj = static_cast<std::size_t>(j);
      lower_[6 + j] = hold_[jj] ? 0.0 : -weights[j];
      upper_[6 + j] = free_[jj] && !hold_[jj] ? 1.0 - weights[j] : 0.0;
    }
    gradient_ = -gradient_;  // the QP's c
    qp_.solve(step_, hessian_, gradient_, lower_, upper_);
    rotation = rotation_exp(step_.head<3>()) * rotation;
    translation += step_.segment<3>(3);
    for (Eigen::Index j = 0; j < e; ++j)
      weights[j] = free_[static_cast<std::size_t>(j)] ? std::clamp(weights[j] + step_[6 + j], 0.0, 1.0) : 0.0;
  }
  // The error after the last step, to first order: the step is small on a warm frame, and
  // re-evaluating the model would cost as much as a step.
  error_ = residual_;
  error_.noalias() += jacobian_ * step_;
  double total = 0;
  for (int l : used_) total += trusted_[l];
  fit_.rms = std::sqrt(error_.squaredNorm() / total);
}

}  // namespace stylemm
