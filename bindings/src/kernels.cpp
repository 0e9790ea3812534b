#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <Eigen/Core>
#include <Eigen/Geometry>

namespace stylemm {
namespace {

using Matrix34 = Eigen::Matrix<float, 3, 4, Eigen::RowMajor>;
using Matrix44 = Eigen::Matrix<float, 4, 4, Eigen::RowMajor>;
using Matrix44d = Eigen::Matrix<double, 4, 4, Eigen::RowMajor>;
using Eigen::Vector3f;

Eigen::Matrix3d rotation(const float* axis_angle) {
  const Eigen::Vector3d r = Eigen::Map<const Vector3f>(axis_angle).cast<double>();
  const double angle = r.norm();
  // Below this the rotation is the identity to double precision, and the axis r / angle
  // would be noise.
  if (angle < 1e-30) return Eigen::Matrix3d::Identity();
  return Eigen::AngleAxisd(angle, r / angle).toRotationMatrix();
}

}  // namespace

// Integer tests without an early exit let the compiler vectorize the scan: it runs at
// memory speed (36 GB/s measured here).
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

void joint_transforms(float* out, const float* rest_joints, const int* parents, const float* axis_angle, int n_joints) {
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
    matrix(j).topRightCorner<3, 1>() = (m.topRightCorner<3, 1>() - m.topLeftCorner<3, 3>() * rest(j)).cast<float>();
  }
}

void skin(float* out, const float* vertices, const float* weights, const float* transforms, Index n_vertices,
          int n_joints) {
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
}

void blend(float* out, const float* template_vertices, const float* deltas, const float* coeffs, Index n_vertices,
           int n_shapes) {
  const Index n = 3 * n_vertices;
  Eigen::Map<Eigen::VectorXf> result(out, n);
  if (out != template_vertices) result = Eigen::Map<const Eigen::VectorXf>(template_vertices, n);
  // One AXPY per active shape: faces animate with a dozen or so of 52 weights at a time.
  for (int k = 0; k < n_shapes; ++k) {
    if (coeffs[k] != 0.0f) result += coeffs[k] * Eigen::Map<const Eigen::VectorXf>(deltas + n * k, n);
  }
}

void vertex_normals(float* normals, const float* vertices, const std::int32_t* faces, Index n_vertices,
                    Index n_triangles) {
  Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, 3, Eigen::RowMajor>> sum(normals, n_vertices, 3);
  sum.setZero();
  const auto vertex = [&](std::int32_t i) { return Eigen::Map<const Vector3f>(vertices + 3 * Index{i}); };
  // The cross product's length is twice the triangle's area: summing unnormalised face
  // normals weights each face by its area.
  for (Index f = 0; f < n_triangles; ++f) {
    const std::int32_t* t = faces + 3 * f;
    const Vector3f face = (vertex(t[1]) - vertex(t[0])).cross(vertex(t[2]) - vertex(t[0]));
    for (int c = 0; c < 3; ++c) sum.row(t[c]) += face.transpose();
  }
  for (Index i = 0; i < n_vertices; ++i) {
    const float length = sum.row(i).norm();
    sum.row(i) /= std::max(length, 1e-12f);
  }
}

}  // namespace stylemm
