// topology.landmark_weights(), ported (mediapipe_topology.h).
#include "mediapipe_topology.h"

namespace stylemm::mediapipe {

namespace {

constexpr int kFaceOval[] = {10,  21,  54,  58,  67,  93,  103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176,
                             234, 251, 284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400, 454};
constexpr int kEyes[] = {7,   33,  133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246,
                         249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466};
constexpr int kBrows[] = {46, 52, 53, 55, 63, 65, 66, 70, 105, 107, 276, 282, 283, 285, 293, 295, 296, 300, 334, 336};
constexpr int kLips[] = {0,   13,  14,  17,  37,  39,  40,  61,  78,  80,  81,  82,  84,  87,
                         88,  91,  95,  146, 178, 181, 185, 191, 267, 269, 270, 291, 308, 310,
                         311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415};

}  // namespace

std::vector<double> default_landmark_weights() {
  // The defaults of topology.landmark_weights: oval 0.3, eyes 3, iris 3, brows 1.5, lips 1.5, every point kept.
  std::vector<double> weights(kLandmarks, 1.0);
  for (int i : kFaceOval) weights[i] = 0.3;
  for (int i : kEyes) weights[i] = 3.0;
  for (const Eye& eye : {kRightEye, kLeftEye})
    for (int i : eye.iris) weights[i] = 3.0;
  for (int i : kBrows) weights[i] = 1.5;
  for (int i : kLips) weights[i] = 1.5;
  return weights;
}

}  // namespace stylemm::mediapipe
