// The two stateless load-time functions engines share with Python: smm_sample_normal (the seed
// stream, pinned bit for bit) and smm_split_uv_seams (the render mesh), their errors included.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "allocations.h"
#include "stylemm/stylemm.h"

namespace {

std::uint32_t bits(float value) {
  std::uint32_t b;
  std::memcpy(&b, &value, sizeof b);
  return b;
}

}  // namespace

TEST_CASE("sample_normal: seed 7 is pinned, and a shorter draw is a prefix of a longer one") {
  // The specification's first values (tests/python/test_seeds.py pins the same bits).
  const std::uint32_t want[6] = {0xBD2AF929u, 0xBE3B7961u, 0x3F606117u, 0x3E39B9A5u, 0xBE9CAAE0u, 0xBFCE5B95u};
  std::vector<float> values(1001);
  REQUIRE(smm_sample_normal(values.data(), 7, static_cast<int>(values.size())) == SMM_OK);
  for (int i = 0; i < 6; ++i) CHECK(bits(values[static_cast<std::size_t>(i)]) == want[i]);
  for (int count : {1, 2, 5, 1000}) {
    std::vector<float> prefix(static_cast<std::size_t>(count));
    REQUIRE(smm_sample_normal(prefix.data(), 7, count) == SMM_OK);
    CHECK(std::memcmp(prefix.data(), values.data(), prefix.size() * sizeof(float)) == 0);
  }
  std::vector<float> other(values.size());
  REQUIRE(smm_sample_normal(other.data(), UINT64_MAX, static_cast<int>(other.size())) == SMM_OK);
  CHECK(other != values);
  double sum = 0, squares = 0;
  for (float v : other) {
    REQUIRE(std::isfinite(v));
    sum += v;
    squares += static_cast<double>(v) * v;
  }
  CHECK(std::abs(sum / 1001) < 0.15);  // 4.7 sigma
  CHECK(squares / 1001 == Approx(1.0).margin(0.2));
}

TEST_CASE("sample_normal: wrong arguments are statuses, nothing is written, nothing allocated") {
  float out[2] = {5.0f, 5.0f};
  const long before = test::allocations();
  CHECK(smm_sample_normal(nullptr, 7, 3) == SMM_ERR_NULL_POINTER);
  CHECK(smm_sample_normal(out, 7, -1) == SMM_ERR_INVALID_ARGUMENT);
  CHECK(smm_sample_normal(nullptr, 7, 0) == SMM_OK);
  CHECK(smm_sample_normal(out, 7, 2) == SMM_OK);
  CHECK(test::allocations() == before);
  CHECK(out[0] != 5.0f);
}

TEST_CASE("split_uv_seams: a seam vertex becomes two render vertices, ordered by vertex then UV vertex") {
  // Two triangles sharing the edge (1, 2); vertex 2 has UV vertex 2 in one and 4 in the other,
  // UV vertex 5 is unused.
  const int faces[6] = {0, 1, 2, 2, 1, 3}, uv_faces[6] = {0, 1, 2, 4, 1, 3};
  int count = -1;
  REQUIRE(smm_split_uv_seams(&count, nullptr, nullptr, nullptr, faces, uv_faces, 2, 4, 6, 0) == SMM_OK);
  REQUIRE(count == 5);
  std::vector<int> vertex_map(5, -9), uv_map(5, -9), triangles(6, -9);
  REQUIRE(smm_split_uv_seams(&count, vertex_map.data(), uv_map.data(), triangles.data(), faces, uv_faces, 2, 4, 6, 5) ==
          SMM_OK);
  CHECK(vertex_map == std::vector<int>{0, 1, 2, 2, 3});
  CHECK(uv_map == std::vector<int>{0, 1, 2, 4, 3});
  CHECK(triangles == std::vector<int>{0, 1, 2, 3, 1, 4});
  for (int c = 0; c < 6; ++c) {
    CHECK(vertex_map[static_cast<std::size_t>(triangles[static_cast<std::size_t>(c)])] == faces[c]);
    CHECK(uv_map[static_cast<std::size_t>(triangles[static_cast<std::size_t>(c)])] == uv_faces[c]);
  }
}

TEST_CASE("split_uv_seams: wrong arguments are statuses and write nothing") {
  const int faces[3] = {0, 1, 2}, uv_faces[3] = {0, 1, 2};
  int count = -1, map[3] = {-9, -9, -9}, uvs[3] = {-9, -9, -9}, triangles[3] = {-9, -9, -9};
  CHECK(smm_split_uv_seams(nullptr, nullptr, nullptr, nullptr, faces, uv_faces, 1, 3, 3, 0) == SMM_ERR_NULL_POINTER);
  CHECK(smm_split_uv_seams(&count, nullptr, nullptr, nullptr, nullptr, uv_faces, 1, 3, 3, 0) == SMM_ERR_NULL_POINTER);
  CHECK(smm_split_uv_seams(&count, map, nullptr, triangles, faces, uv_faces, 1, 3, 3, 3) == SMM_ERR_NULL_POINTER);
  CHECK(smm_split_uv_seams(&count, nullptr, nullptr, nullptr, faces, uv_faces, 0, 3, 3, 0) == SMM_ERR_INVALID_ARGUMENT);
  CHECK(smm_split_uv_seams(&count, nullptr, nullptr, nullptr, faces, uv_faces, 1, 2, 3, 0) == SMM_ERR_INVALID_ARGUMENT);
  CHECK(smm_split_uv_seams(&count, nullptr, nullptr, nullptr, faces, uv_faces, 1, 3, 2, 0) == SMM_ERR_INVALID_ARGUMENT);
  CHECK(smm_split_uv_seams(&count, nullptr, nullptr, nullptr, faces, uv_faces, 1 << 30, 3, 3, 0) ==
        SMM_ERR_INVALID_ARGUMENT);  // 3F would overflow an int
  CHECK(smm_split_uv_seams(&count, map, uvs, triangles, faces, uv_faces, 1, 3, 3, 2) == SMM_ERR_SIZE);
  CHECK(smm_split_uv_seams(&count, nullptr, nullptr, nullptr, faces, uv_faces, 1, 3, 3, 3) == SMM_ERR_SIZE);
  CHECK(count == -1);
  CHECK((map[0] == -9 && uvs[0] == -9 && triangles[0] == -9));
}
