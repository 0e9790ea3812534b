// The per-frame arithmetic of the native core, unchecked: the C ABI functions check their
// inputs once and then call these (skinning.cpp for the stateless calls, api.cpp for
// characters). Only plan_skin, run once per model, allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace stylemm {

using Index = std::ptrdiff_t;  // not long: that is 32 bits on Windows

// True if no value is NaN or Inf.
bool all_finite(const float* values, Index count);

// parents[0] == -1 and 0 <= parents[j] < j.
bool parents_are_ordered(const int* parents, int n_joints);

// out (J, 4, 4): skinning matrices of the chain posed by local axis-angle rotations.
void joint_transforms(float* out, const float* rest_joints, const int* parents, const float* axis_angle, int n_joints);

// out (N, 3) = linear blend skinning of vertices (N, 3) by weights (N, J) and transforms
// (J, 4, 4); out may be vertices. Zero weights are skipped.
void skin(float* out, const float* vertices, const float* weights, const float* transforms, Index n_vertices,
          int n_joints);

// The nonzero skinning weights of a model, sorted for speed: vertices that follow one joint
// (most of a face), grouped by that joint so its matrix stays in registers, apart from those
// that blend several.
struct SkinPlan {
  std::vector<std::int32_t> lone_offset;  // J + 1: joint j's lone vertices are [offset[j], offset[j + 1])
  std::vector<std::int32_t> lone_vertex;
  std::vector<float> lone_weight;
  std::vector<std::int32_t> blended_vertex, blended_offset;  // blended_offset: CSR, one more than vertices
  std::vector<std::int32_t> blended_joint;
  std::vector<float> blended_weight;
  std::vector<std::int32_t> unweighted_vertex;
};
SkinPlan plan_skin(const float* weights, Index n_vertices, int n_joints);

// Points: the padded layout of the per-frame path, 4 floats (x, y, z, 0) per vertex and
// 16-byte aligned, so that a vertex is one SIMD register.
void pad(float* points, const float* vertices, Index n_vertices);
void unpad(float* vertices, const float* points, Index n_vertices);

// columns (J, 4, 4): each transform's top 3x4 as four columns of the padded layout.
void joint_columns(float* columns, const float* transforms, int n_joints);

// points (N, 4) = skin() of vertices (N, 3) by the joints' columns with a plan, for models
// that skin the same weights every frame.
void skin_planned(float* points, const float* vertices, const SkinPlan& plan, const float* columns);

// out (N, 3) = template + sum_k coeffs[k] * deltas[k]; zero coefficients are skipped.
void blend(float* out, const float* template_vertices, const float* deltas, const float* coeffs, Index n_vertices,
           int n_shapes);

// normals (N, 3): area-weighted vertex normals of the triangles over points (N, 4), unit
// length (zero where no triangle with area touches a vertex); sums (N, 4) is scratch.
void vertex_normals(float* normals, const float* points, const std::int32_t* faces, Index n_vertices,
                    Index n_triangles, float* sums);

}  // namespace stylemm
