// Facts of MediaPipe's 478-point face mesh that the tracking solver needs, as
// runtime/stylemm_runtime/tracking/topology.py writes them out (from
// mediapipe.python.solutions.face_mesh_connections, 0.10.14). "left" is the subject's left.
#pragma once

#include <array>
#include <vector>

namespace stylemm::mediapipe {

constexpr int kLandmarks = 478;

// One eye: its lid midpoints (upper, lower), corners (outer, inner) and iris points.
struct Eye {
  int upper, lower, outer, inner;
  std::array<int, 5> iris;  // centre first
};
constexpr Eye kRightEye{159, 145, 33, 133, {468, 469, 470, 471, 472}};
constexpr Eye kLeftEye{386, 374, 263, 362, {473, 474, 475, 476, 477}};

// topology.landmark_weights() at its defaults: (478,) weights of each landmark's residual.
std::vector<double> default_landmark_weights();

}  // namespace stylemm::mediapipe
