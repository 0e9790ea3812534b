// The tracking solver: one frame of MediaPipe landmarks -> head rotation, translation and
// expression weights. A port of runtime/stylemm_runtime/tracking/solver.py's FaceSolver (same
// math, settings, warm and cold start; see its module docstring): Gauss-Newton on the
// reprojection error of a landmark model p(w) = rest + basis' w, posed about `pivot` with
// per-landmark `head_weight`, through a pinhole camera (camera at the origin looking down -Z,
// +Y up, pixel (0, 0) top-left, optical axis through the image centre), jointly in a rotation
// increment, a translation and the weights bounded to [0, 1]; each step a BoxQp. Everything
// is double; all memory is sized at construction, so a frame allocates nothing.
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

#include "box_qp.h"

namespace stylemm {

// solver.SolverSettings; iris_open is (iris_open_low, iris_open_high).
struct FaceSolverSettings {
  double weight_prior = 1e-2;
  double temporal_prior = 5e-3;
  double sparsity = 1e-2;
  double antagonist = 0.1;
  double iris_open_low = 0.35;
  double iris_open_high = 0.7;
  int iterations = 1;
  int cold_iterations = 12;
};

struct PinholeCamera {
  double width, height, focal;  // pixels
};

struct FaceFit {
  Eigen::Matrix3d rotation;     // of the neck joint
  Eigen::Vector3d translation;  // metres, camera frame
  Eigen::VectorXd weights;      // (E,) in [0, 1]
  double rms = 0;               // weighted RMS reprojection error, inter-ocular distances
  bool cold = false;            // this frame started from scratch (Procrustes / size)
};

// The units that oppose each other by name (solver.OPPOSED, both sides where sided): (E, E), symmetric.
Eigen::MatrixXd antagonist_matrix(const std::vector<std::string>& names);

class FaceSolver {
 public:
  // The landmark model in MediaPipe's 478-point topology (float32 arrays, C order):
  // rest (L, 3), basis (E, L, 3), pivot (3), head_weight (L); landmark_weights (L) >= 0.
  // The caller has checked sizes and values (solver_api.cpp).
  FaceSolver(const float* rest, const float* basis, const float* pivot, const float* head_weight,
             std::vector<double> landmark_weights, const std::vector<std::string>& names, int landmarks,
             const FaceSolverSettings& settings);

  int landmarks() const { return num_landmarks_; }
  int expressions() const { return static_cast<int>(names_.size()); }

  // landmarks (L, dims) pixels, dims 2 or 3 (MediaPipe's relative depth, only seeding a cold
  // start's rotation); mask (E) nonzero = the unit may move, or nullptr for all.
  const FaceFit& solve(const float* landmarks, int dims, const PinholeCamera& camera, const unsigned char* mask);
  void reset() { has_last_ = false; }
  bool warm() const { return has_last_; }

 private:
  void initial_pose(const PinholeCamera& camera, int dims);
  void eye_trust(bool warm);
  void gauss_newton(const PinholeCamera& camera, bool warm, int iterations);

  FaceSolverSettings settings_;
  int num_landmarks_;
  std::vector<std::string> names_;
  std::vector<double> landmark_weights_;  // (L)
  std::vector<int> used_;                 // the landmarks with a weight: the rows of the fit
  Eigen::Matrix3Xd rest_all_;             // (3, L) rest landmarks, for the cold start and eye openness
  Eigen::Matrix3Xd rest_;                 // (3, U) those of the fit
  Eigen::MatrixXd basis_;                 // (3U, E): rows 3u..3u+2 are landmark u's deltas
  Eigen::VectorXd head_;                  // (U)
  Eigen::Vector3d pivot_;
  double rest_openness_[2];   // right, left
  Eigen::MatrixXd opposed_;   // (E, E)
  std::vector<bool> gaze_[2];  // right, left: the eyeLook* units of that side

  // Per frame, sized once.
  FaceFit fit_;
  bool has_last_ = false;
  Eigen::Matrix3Xd observed_;   // (3, L) this frame's landmarks (z 0 for 2D)
  Eigen::VectorXd trusted_;     // (L) landmark weights after eye trust
  std::vector<bool> free_, hold_;
  Eigen::VectorXd previous_, prior_, flat_, residual_, gradient_, error_, lower_, upper_, step_;
  Eigen::Matrix3Xd unposed_, turned_, points_;  // (3, U); points_ also the centred unposed points
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> jacobian_;  // (2U, 6 + E)
  Eigen::MatrixXd hessian_;
  BoxQp qp_;
};

}  // namespace stylemm
