#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

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

SkinPlan plan_skin(const float* weights, Index n_vertices, int n_joints) {
  SkinPlan plan;
  std::vector<std::vector<std::pair<std::int32_t, float>>> lone(static_cast<std::size_t>(n_joints));
  plan.blended_offset.push_back(0);
  for (Index i = 0; i < n_vertices; ++i) {
    const float* w = weights + i * n_joints;
    const auto joints = std::count_if(w, w + n_joints, [](float x) { return x != 0.0f; });
    for (int j = 0; j < n_joints; ++j) {
      if (w[j] == 0.0f) continue;
      if (joints == 1) {
        lone[static_cast<std::size_t>(j)].emplace_back(static_cast<std::int32_t>(i), w[j]);
      } else {
        plan.blended_joint.push_back(j);
        plan.blended_weight.push_back(w[j]);
      }
    }
    if (joints > 1) {
      plan.blended_vertex.push_back(static_cast<std::int32_t>(i));
      plan.blended_offset.push_back(static_cast<std::int32_t>(plan.blended_joint.size()));
    }
  }
  plan.lone_offset.push_back(0);
  for (const auto& vertices : lone) {
    for (const auto& [vertex, weight] : vertices) {
      plan.lone_vertex.push_back(vertex);
      plan.lone_weight.push_back(weight);
    }
    plan.lone_offset.push_back(static_cast<std::int32_t>(plan.lone_vertex.size()));
  }
  return plan;
}

void skin_planned(float* out, const float* vertices, const SkinPlan& plan, const float* transforms) {
  const Index n_joints = static_cast<Index>(plan.lone_offset.size()) - 1;
  for (Index j = 0; j < n_joints; ++j) {
    // Plain arithmetic with the matrix in locals: the compiler keeps it in registers for the
    // whole run of vertices, where an Eigen 3x4 product per vertex reloaded it each time.
    const float* m = transforms + 16 * j;
    const float m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5];
    const float m6 = m[6], m7 = m[7], m8 = m[8], m9 = m[9], m10 = m[10], m11 = m[11];
    for (std::int32_t k = plan.lone_offset[j]; k < plan.lone_offset[j + 1]; ++k) {
      const Index i = plan.lone_vertex[k];
      const float w = plan.lone_weight[k], x = vertices[3 * i], y = vertices[3 * i + 1], z = vertices[3 * i + 2];
      out[3 * i] = w * (m0 * x + m1 * y + m2 * z + m3);
      out[3 * i + 1] = w * (m4 * x + m5 * y + m6 * z + m7);
      out[3 * i + 2] = w * (m8 * x + m9 * y + m10 * z + m11);
    }
  }
  const auto transform = [&](std::int32_t j) { return Eigen::Map<const Matrix34>(transforms + 16 * Index{j}); };
  for (std::size_t k = 0; k < plan.blended_vertex.size(); ++k) {
    const Index i = plan.blended_vertex[k];
    Matrix34 m = Matrix34::Zero();
    for (std::int32_t e = plan.blended_offset[k]; e < plan.blended_offset[k + 1]; ++e)
      m += plan.blended_weight[e] * transform(plan.blended_joint[e]);
    const Vector3f v = Eigen::Map<const Vector3f>(vertices + 3 * i);
    Eigen::Map<Vector3f>(out + 3 * i) = m.leftCols<3>() * v + m.col(3);
  }
}

void vertex_normals(float* normals, const float* vertices, const std::int32_t* faces, Index n_vertices,
                    Index n_triangles) {
  std::fill(normals, normals + 3 * n_vertices, 0.0f);
  // The cross product's length is twice the triangle's area: summing unnormalised face
  // normals weights each face by its area. One scalar pass: a second pass gathering face
  // normals per vertex over an adjacency list was slower here, not faster.
  for (Index f = 0; f < n_triangles; ++f) {
    const float* a = vertices + 3 * Index{faces[3 * f]};
    const float* b = vertices + 3 * Index{faces[3 * f + 1]};
    const float* c = vertices + 3 * Index{faces[3 * f + 2]};
    const float u0 = b[0] - a[0], u1 = b[1] - a[1], u2 = b[2] - a[2];
    const float v0 = c[0] - a[0], v1 = c[1] - a[1], v2 = c[2] - a[2];
    const float n0 = u1 * v2 - u2 * v1, n1 = u2 * v0 - u0 * v2, n2 = u0 * v1 - u1 * v0;
    for (int corner = 0; corner < 3; ++corner) {
      float* sum = normals + 3 * Index{faces[3 * f + corner]};
      sum[0] += n0;
      sum[1] += n1;
      sum[2] += n2;
    }
  }
  for (Index i = 0; i < n_vertices; ++i) {
    float* n = normals + 3 * i;
    const float scale = 1.0f / std::max(std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]), 1e-12f);
    n[0] *= scale;
    n[1] *= scale;
    n[2] *= scale;
  }
}

}  // namespace stylemm
