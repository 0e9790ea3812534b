// Blend shapes and linear blend skinning behind the C ABI (see stylemm.h).
#include <cmath>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "stylemm/stylemm.h"

namespace {

using Matrix34 = Eigen::Matrix<float, 3, 4, Eigen::RowMajor>;
using Matrix44 = Eigen::Matrix<float, 4, 4, Eigen::RowMajor>;

bool all_finite(const float* values, long count) {
  for (long i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) return false;
  }
  return true;
}

bool parents_are_ordered(const int* parents, int n_joints) {
  if (parents[0] != -1) return false;
  for (int j = 1; j < n_joints; ++j) {
    if (parents[j] < 0 || parents[j] >= j) return false;
  }
  return true;
}

Eigen::Matrix3f rotation(const float* axis_angle) {
  const Eigen::Vector3f r(axis_angle[0], axis_angle[1], axis_angle[2]);
  const float angle = r.norm();
  if (angle < 1e-12f) return Eigen::Matrix3f::Identity();
  return Eigen::AngleAxisf(angle, r / angle).toRotationMatrix();
}

}  // namespace

extern "C" {

int smm_version(void) { return STYLEMM_VERSION; }

const char* smm_status_string(smm_status status) {
  switch (status) {
    case SMM_OK:
      return "ok";
    case SMM_ERR_NULL_POINTER:
      return "a required pointer is NULL";
    case SMM_ERR_INVALID_ARGUMENT:
      return "invalid argument: counts must be positive and parents must satisfy parents[0] == -1, 0 <= parents[j] < j";
    case SMM_ERR_NON_FINITE:
      return "a parameter contains NaN or Inf";
  }
  return "unknown status code";
}

smm_status smm_blend_shapes(const float* template_vertices, int n_vertices, const float* deltas, int n_shapes,
                            const float* coeffs, float* out) {
  if (!template_vertices || !deltas || !coeffs || !out) return SMM_ERR_NULL_POINTER;
  if (n_vertices <= 0 || n_shapes <= 0) return SMM_ERR_INVALID_ARGUMENT;
  if (!all_finite(coeffs, n_shapes)) return SMM_ERR_NON_FINITE;
  const long n = 3L * n_vertices;
  // Morph targets one after another = the columns of a column-major (3N, K) matrix.
  Eigen::Map<const Eigen::MatrixXf> basis(deltas, n, n_shapes);
  Eigen::Map<const Eigen::VectorXf> weights(coeffs, n_shapes);
  Eigen::Map<const Eigen::VectorXf> base(template_vertices, n);
  Eigen::Map<Eigen::VectorXf> result(out, n);
  result.noalias() = basis * weights;
  result += base;
  return SMM_OK;
}

smm_status smm_joint_transforms(const float* rest_joints, const int* parents, int n_joints, const float* axis_angle,
                                float* out) {
  if (!rest_joints || !parents || !axis_angle || !out) return SMM_ERR_NULL_POINTER;
  if (n_joints <= 0 || !parents_are_ordered(parents, n_joints)) return SMM_ERR_INVALID_ARGUMENT;
  if (!all_finite(axis_angle, 3L * n_joints) || !all_finite(rest_joints, 3L * n_joints)) return SMM_ERR_NON_FINITE;
  // World transforms are built in `out` in index order (parents come first), then each
  // gets its rest position taken out so it acts on rest-pose vertices.
  for (int j = 0; j < n_joints; ++j) {
    Eigen::Map<const Eigen::Vector3f> joint(rest_joints + 3 * j);
    Matrix44 local = Matrix44::Identity();
    local.topLeftCorner<3, 3>() = rotation(axis_angle + 3 * j);
    local.topRightCorner<3, 1>() = j == 0 ? Eigen::Vector3f(joint)
                                          : Eigen::Vector3f(joint - Eigen::Map<const Eigen::Vector3f>(rest_joints + 3 * parents[j]));
    Eigen::Map<Matrix44> world(out + 16 * j);
    world = j == 0 ? local : Matrix44(Eigen::Map<const Matrix44>(out + 16 * parents[j]) * local);
  }
  for (int j = 0; j < n_joints; ++j) {
    Eigen::Map<Matrix44> world(out + 16 * j);
    world.topRightCorner<3, 1>() -= world.topLeftCorner<3, 3>() * Eigen::Map<const Eigen::Vector3f>(rest_joints + 3 * j);
  }
  return SMM_OK;
}

smm_status smm_skin(const float* vertices, int n_vertices, const float* weights, int n_joints, const float* transforms,
                    float* out) {
  if (!vertices || !weights || !transforms || !out) return SMM_ERR_NULL_POINTER;
  if (n_vertices <= 0 || n_joints <= 0) return SMM_ERR_INVALID_ARGUMENT;
  if (!all_finite(transforms, 16L * n_joints)) return SMM_ERR_NON_FINITE;
  for (int i = 0; i < n_vertices; ++i) {
    // Blend the top 3x4 of each joint's matrix by this vertex's weights.
    Matrix34 blended = Matrix34::Zero();
    for (int j = 0; j < n_joints; ++j) {
      const float w = weights[static_cast<long>(i) * n_joints + j];
      if (w != 0.0f) blended += w * Eigen::Map<const Matrix34>(transforms + 16 * j);
    }
    Eigen::Map<Eigen::Vector3f>(out + 3L * i) =
        blended.leftCols<3>() * Eigen::Map<const Eigen::Vector3f>(vertices + 3L * i) + blended.col(3);
  }
  return SMM_OK;
}

}  // extern "C"
