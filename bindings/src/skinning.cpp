// The stateless building blocks of the C ABI: blend shapes, joint transforms and linear
// blend skinning on caller arrays (see stylemm.h for the contract). Each checks its inputs,
// then runs the shared kernel.
#include <limits>

#include "kernels.h"
#include "stylemm/stylemm.h"

using stylemm::Index;

extern "C" {

smm_status smm_blend_shapes(float* out, const float* template_vertices, const float* deltas, const float* coeffs,
                            int n_vertices, int n_shapes) {
  if (!out || !template_vertices || !deltas || !coeffs) return SMM_ERR_NULL_POINTER;
  if (n_vertices <= 0 || n_shapes <= 0) return SMM_ERR_INVALID_ARGUMENT;
  const Index n = 3 * Index{n_vertices};
  if (n > std::numeric_limits<Index>::max() / n_shapes) return SMM_ERR_INVALID_ARGUMENT;
  // Not the deltas: see stylemm.h.
  if (!stylemm::all_finite(template_vertices, n) || !stylemm::all_finite(coeffs, n_shapes)) return SMM_ERR_NON_FINITE;
  stylemm::blend(out, template_vertices, deltas, coeffs, n_vertices, n_shapes);
  return SMM_OK;
}

smm_status smm_joint_transforms(float* out, const float* rest_joints, const int* parents, const float* axis_angle,
                                int n_joints) {
  if (!out || !rest_joints || !parents || !axis_angle) return SMM_ERR_NULL_POINTER;
  if (n_joints <= 0) return SMM_ERR_INVALID_ARGUMENT;
  if (!stylemm::parents_are_ordered(parents, n_joints)) return SMM_ERR_INVALID_PARENTS;
  if (!stylemm::all_finite(rest_joints, 3 * Index{n_joints}) || !stylemm::all_finite(axis_angle, 3 * Index{n_joints}))
    return SMM_ERR_NON_FINITE;
  stylemm::joint_transforms(out, rest_joints, parents, axis_angle, n_joints);
  return SMM_OK;
}

smm_status smm_skin(float* out, const float* vertices, const float* weights, const float* transforms, int n_vertices,
                    int n_joints) {
  if (!out || !vertices || !weights || !transforms) return SMM_ERR_NULL_POINTER;
  if (n_vertices <= 0 || n_joints <= 0) return SMM_ERR_INVALID_ARGUMENT;
  const Index n_weights = Index{n_vertices} * n_joints;  // both below 2^31: cannot overflow
  if (!stylemm::all_finite(vertices, 3 * Index{n_vertices}) || !stylemm::all_finite(weights, n_weights) ||
      !stylemm::all_finite(transforms, 16 * Index{n_joints}))
    return SMM_ERR_NON_FINITE;
  stylemm::skin(out, vertices, weights, transforms, n_vertices, n_joints);
  return SMM_OK;
}

}  // extern "C"
