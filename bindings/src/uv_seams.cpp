// smm_split_uv_seams: the render mesh that engines and glTF draw, from a mesh whose corners
// index positions (faces) and UV vertices (uv_faces) separately. A GPU vertex has one
// position and one UV, so every distinct (vertex, UV vertex) pair that a corner uses becomes
// one render vertex: a vertex on a UV seam becomes two or more. The order is fixed (by vertex,
// then by UV vertex), so every caller gets the same render mesh, vertex for vertex.
#include <algorithm>
#include <climits>
#include <cstddef>
#include <new>
#include <vector>

#include "stylemm/stylemm.h"

namespace {

using Size = std::size_t;

// The UV vertices each vertex's corners use, sorted and without repeats: for vertex v,
// uvs[first[v] .. first[v] + count[v]), and its render vertices are numbered render[v] on.
struct SeamSplit {
  std::vector<int> first, count, uvs, render;
};

bool in_range(const int* indices, Size n, int bound) {
  for (Size i = 0; i < n; ++i)
    if (indices[i] < 0 || indices[i] >= bound) return false;
  return true;
}

// Counting sort of the corners by vertex (a bucket per vertex), then each bucket sorted and
// made unique: O(corners) plus the sorts of a few UV indices per vertex.
SeamSplit split(const int* faces, const int* uv_faces, Size corners, int n_vertices, int* n_render) {
  const Size n = static_cast<Size>(n_vertices);
  SeamSplit out;
  out.first.assign(n + 1, 0);
  for (Size c = 0; c < corners; ++c) ++out.first[static_cast<Size>(faces[c]) + 1];
  for (Size v = 0; v < n; ++v) out.first[v + 1] += out.first[v];
  out.uvs.resize(corners);
  std::vector<int> fill(out.first.begin(), out.first.end() - 1);
  for (Size c = 0; c < corners; ++c) out.uvs[static_cast<Size>(fill[static_cast<Size>(faces[c])]++)] = uv_faces[c];
  out.count.resize(n);
  out.render.resize(n);
  int total = 0;
  for (Size v = 0; v < n; ++v) {
    const auto begin = out.uvs.begin() + out.first[v], end = out.uvs.begin() + out.first[v + 1];
    std::sort(begin, end);
    out.count[v] = static_cast<int>(std::unique(begin, end) - begin);
    out.render[v] = total;
    total += out.count[v];  // at most the corner count, which fits in an int
  }
  *n_render = total;
  return out;
}

void write(const SeamSplit& s, const int* faces, const int* uv_faces, Size corners, int* vertex_map, int* uv_map,
           int* triangles) {
  for (Size v = 0; v < s.count.size(); ++v) {
    for (int j = 0; j < s.count[v]; ++j) {
      vertex_map[s.render[v] + j] = static_cast<int>(v);
      uv_map[s.render[v] + j] = s.uvs[static_cast<Size>(s.first[v] + j)];
    }
  }
  for (Size c = 0; c < corners; ++c) {
    const Size v = static_cast<Size>(faces[c]);
    const auto begin = s.uvs.begin() + s.first[v], end = begin + s.count[v];
    triangles[c] = s.render[v] + static_cast<int>(std::lower_bound(begin, end, uv_faces[c]) - begin);
  }
}

}  // namespace

extern "C" smm_status smm_split_uv_seams(int* n_render, int* vertex_map, int* uv_map, int* triangles,
                                         const int* faces, const int* uv_faces, int n_triangles, int n_vertices,
                                         int n_uv_vertices, int capacity) {
  if (!n_render || !faces || !uv_faces) return SMM_ERR_NULL_POINTER;
  const bool counting = !vertex_map && !uv_map && !triangles;
  if (!counting && (!vertex_map || !uv_map || !triangles)) return SMM_ERR_NULL_POINTER;
  if (n_triangles <= 0 || n_triangles > INT_MAX / 3 || n_vertices <= 0 || n_uv_vertices <= 0 || capacity < 0)
    return SMM_ERR_INVALID_ARGUMENT;
  const Size corners = 3 * static_cast<Size>(n_triangles);
  if (!in_range(faces, corners, n_vertices) || !in_range(uv_faces, corners, n_uv_vertices))
    return SMM_ERR_INVALID_ARGUMENT;
  try {
    int count = 0;
    const SeamSplit s = split(faces, uv_faces, corners, n_vertices, &count);
    if (counting ? capacity != 0 : capacity != count) return SMM_ERR_SIZE;
    if (!counting) write(s, faces, uv_faces, corners, vertex_map, uv_map, triangles);
    *n_render = count;
    return SMM_OK;
  } catch (const std::bad_alloc&) {
    return SMM_ERR_OUT_OF_MEMORY;
  }
}
