#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "float4.h"

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

namespace {

// out += c[0] * rows[0] + ... + c[3] * rows[3], in one pass over out.
void add_four(float* out, const float* const* rows, const float* c, Index n) {
  const float *d0 = rows[0], *d1 = rows[1], *d2 = rows[2], *d3 = rows[3];
  const float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
  for (Index i = 0; i < n; ++i) out[i] += c0 * d0[i] + c1 * d1[i] + c2 * d2[i] + c3 * d3[i];
}

}  // namespace

void blend(float* out, const float* template_vertices, const float* deltas, const float* coeffs, Index n_vertices,
           int n_shapes) {
  const Index n = 3 * n_vertices;
  if (out != template_vertices) std::copy(template_vertices, template_vertices + n, out);
  // Four shapes per pass: the result is read and written a quarter as often (1.4x faster
  // than one shape per pass when measured). Faces animate with a dozen or so of 52 weights
  // at a time: zero coefficients are skipped.
  const float* rows[4];
  float c[4];
  int group = 0;
  for (int k = 0; k < n_shapes; ++k) {
    if (coeffs[k] == 0.0f) continue;
    rows[group] = deltas + n * k;
    c[group++] = coeffs[k];
    if (group == 4) {
      add_four(out, rows, c, n);
      group = 0;
    }
  }
  for (int g = 0; g < group; ++g) {
    for (Index i = 0; i < n; ++i) out[i] += c[g] * rows[g][i];
  }
}

SkinPlan plan_skin(const float* weights, Index n_vertices, int n_joints) {
  SkinPlan plan;
  std::vector<std::vector<std::pair<std::int32_t, float>>> lone(static_cast<std::size_t>(n_joints));
  plan.blended_offset.push_back(0);
  for (Index i = 0; i < n_vertices; ++i) {
    const float* w = weights + i * n_joints;
    const auto joints = std::count_if(w, w + n_joints, [](float x) { return x != 0.0f; });
    if (joints == 0) plan.unweighted_vertex.push_back(static_cast<std::int32_t>(i));
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

void joint_columns(float* columns, const float* transforms, int n_joints) {
  for (Index j = 0; j < n_joints; ++j) {
    const float* m = transforms + 16 * j;
    float* c = columns + 16 * j;
    for (int k = 0; k < 4; ++k) {
      c[4 * k] = m[k];
      c[4 * k + 1] = m[4 + k];
      c[4 * k + 2] = m[8 + k];
      c[4 * k + 3] = 0.0f;
    }
  }
}

namespace {

// One joint's columns, or a weighted sum of several: the skinning matrix in the padded layout.
struct Columns {
  Float4 c[4];
  explicit Columns(const float* columns) {
    for (int k = 0; k < 4; ++k) c[k] = load(columns + 4 * k);
  }
  Columns(float w, const Columns& m) {
    for (int k = 0; k < 4; ++k) c[k] = m.c[k] * w;
  }
  void add(float w, const Columns& m) {
    for (int k = 0; k < 4; ++k) c[k] = c[k] + m.c[k] * w;
  }
  Float4 apply(const float* v) const { return c[0] * v[0] + c[1] * v[1] + c[2] * v[2] + c[3]; }
};

}  // namespace

void skin_planned(float* points, const float* vertices, const SkinPlan& plan, const float* columns) {
  const Index n_joints = static_cast<Index>(plan.lone_offset.size()) - 1;
  for (Index j = 0; j < n_joints; ++j) {
    // The joint's columns stay in registers for its whole run of vertices.
    const Columns m(columns + 16 * j);
    for (std::int32_t k = plan.lone_offset[j]; k < plan.lone_offset[j + 1]; ++k) {
      const Index i = plan.lone_vertex[k];
      store(points + 4 * i, m.apply(vertices + 3 * i) * plan.lone_weight[k]);
    }
  }
  for (std::size_t k = 0; k < plan.blended_vertex.size(); ++k) {
    const std::int32_t first = plan.blended_offset[k], end = plan.blended_offset[k + 1];
    Columns m(plan.blended_weight[first], Columns(columns + 16 * Index{plan.blended_joint[first]}));
    for (std::int32_t e = first + 1; e < end; ++e)
      m.add(plan.blended_weight[e], Columns(columns + 16 * Index{plan.blended_joint[e]}));
    const Index i = plan.blended_vertex[k];
    store(points + 4 * i, m.apply(vertices + 3 * i));
  }
  // No weight, no transform: the origin, as skin() and linear blend skinning anywhere give.
  for (const std::int32_t i : plan.unweighted_vertex) store(points + 4 * Index{i}, broadcast(0.0f));
}

void pad(float* points, const float* vertices, Index n_vertices) {
  for (Index i = 0; i < n_vertices; ++i) {
    points[4 * i] = vertices[3 * i];
    points[4 * i + 1] = vertices[3 * i + 1];
    points[4 * i + 2] = vertices[3 * i + 2];
    points[4 * i + 3] = 0.0f;
  }
}

void unpad(float* vertices, const float* points, Index n_vertices) {
  for (Index i = 0; i < n_vertices; ++i) {
    vertices[3 * i] = points[4 * i];
    vertices[3 * i + 1] = points[4 * i + 1];
    vertices[3 * i + 2] = points[4 * i + 2];
  }
}

namespace {

// normals (N, 3) = sums (N, 4) / their lengths, four vertices at a time: the square roots
// and divisions are most of the time, and SIMD does four of each at once.
void normalize(float* normals, const float* sums, Index n_vertices) {
  constexpr float kFloor = 1e-12f;  // no triangle with area: a zero normal, not NaN
  Index i = 0;
  // Each store writes four floats, one past its vertex; the next store or the scalar
  // tail overwrites it, so the last vertex is always left to the tail.
  for (; i + 4 < n_vertices; i += 4) {
    const Float4 p0 = load(sums + 4 * i), p1 = load(sums + 4 * i + 4), p2 = load(sums + 4 * i + 8),
                 p3 = load(sums + 4 * i + 12);
    Float4 x = p0, y = p1, z = p2, w = p3;
    transpose(x, y, z, w);
    const Float4 scale = inverse_sqrt(x * x + y * y + z * z, kFloor);
    store_unaligned(normals + 3 * i, p0 * lane<0>(scale));
    store_unaligned(normals + 3 * i + 3, p1 * lane<1>(scale));
    store_unaligned(normals + 3 * i + 6, p2 * lane<2>(scale));
    store_unaligned(normals + 3 * i + 9, p3 * lane<3>(scale));
  }
  for (; i < n_vertices; ++i) {
    const float* n = sums + 4 * i;
    const float scale = 1.0f / std::max(std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]), kFloor);
    normals[3 * i] = n[0] * scale;
    normals[3 * i + 1] = n[1] * scale;
    normals[3 * i + 2] = n[2] * scale;
  }
}

}  // namespace

void vertex_normals(float* normals, const float* points, const std::int32_t* faces, Index n_vertices,
                    Index n_triangles, float* sums) {
  std::fill(sums, sums + 4 * n_vertices, 0.0f);
  // The cross product's length is twice the triangle's area: summing unnormalised face
  // normals weights each face by its area. With padded points a corner is one load, the
  // cross product three shuffles and each sum one load-add-store.
  const auto add_face = [&](Index f) {
    const std::int32_t* face = faces + 3 * f;
    const Float4 a = load(points + 4 * Index{face[0]});
    const Float4 n = cross(load(points + 4 * Index{face[1]}) - a, load(points + 4 * Index{face[2]}) - a);
    for (int corner = 0; corner < 3; ++corner) {
      float* sum = sums + 4 * Index{face[corner]};
      store(sum, load(sum) + n);
    }
  };
  // Neighbouring triangles share vertices, so in file order each face's sums wait for the
  // previous face's stores. Four far-apart runs of faces, interleaved, keep four chains in
  // flight instead of one.
  const Index quarter = n_triangles / 4;
  for (Index f = 0; f < quarter; ++f) {
    add_face(f);
    add_face(f + quarter);
    add_face(f + 2 * quarter);
    add_face(f + 3 * quarter);
  }
  for (Index f = 4 * quarter; f < n_triangles; ++f) add_face(f);
  normalize(normals, sums, n_vertices);
}

}  // namespace stylemm
