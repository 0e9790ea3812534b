// A loaded bundle as the native core uses it (the C ABI's smm_model): topology, rig,
// parameter names and, when the bundle carries them, the deformer's weights. Immutable
// after loading, so any number of threads may read it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bundle.h"
#include "deformer.h"
#include "kernels.h"

struct smm_model_ {
  int vertices = 0, triangles = 0, uv_vertices = 0;
  int shape_dim = 0, expressions = 0, joints = 0, texture_dim = 0;
  float expression_unit = 1.0f;  // the top of the expression range: a baked delta's full weight
  std::vector<std::string> expression_names, joint_names;
  std::vector<int> parents;
  std::vector<std::int32_t> faces, uv_faces;  // (F, 3) each
  std::vector<float> template_vertices;       // (N, 3)
  std::vector<float> uvs;                     // (U, 2)
  std::vector<float> skin_weights;            // (N, J)
  std::vector<float> joint_regressor;         // (J, N)
  stylemm::SkinPlan skin_plan;                // skin_weights, sorted for the per-frame loop
  std::unique_ptr<stylemm::Deformer> deformer;  // null when the bundle has no deformer weights
};

namespace stylemm {

// Throws Error naming what is missing or inconsistent.
std::unique_ptr<smm_model_> load_model(const Bundle& bundle);

}  // namespace stylemm
