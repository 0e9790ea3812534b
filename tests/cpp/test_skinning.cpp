// The C ABI: results against hand-computed cases, and every error path writes nothing.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "stylemm/stylemm.h"

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kSentinel = -12345.0f;

std::vector<float> identity4(int n) {
  std::vector<float> m(16 * n, 0.0f);
  for (int j = 0; j < n; ++j)
    for (int d = 0; d < 4; ++d) m[16 * j + 5 * d] = 1.0f;
  return m;
}

bool untouched(const std::vector<float>& v) {
  for (float x : v)
    if (x != kSentinel) return false;
  return true;
}

}  // namespace

TEST_CASE("the library reports the version of its header") {
  CHECK(smm_version() == STYLEMM_VERSION);
  CHECK(STYLEMM_VERSION == STYLEMM_VERSION_MAJOR * 10000 + STYLEMM_VERSION_MINOR * 100 + STYLEMM_VERSION_PATCH);
  CHECK(std::string(smm_status_string(SMM_OK)) == "ok");
  CHECK(std::string(smm_status_string(static_cast<smm_status>(99))) == "unknown status code");
}

TEST_CASE("blend shapes add weighted morph targets to the template") {
  const std::vector<float> tmpl = {0, 0, 0, 1, 1, 1};
  const std::vector<float> deltas = {1, 0, 0, 0, 0, 0,   // target 0 moves vertex 0 along x
                                     0, 0, 0, 0, 2, 0};  // target 1 moves vertex 1 along y
  std::vector<float> out(6);
  std::vector<float> zero = {0, 0};
  REQUIRE(smm_blend_shapes(tmpl.data(), 2, deltas.data(), 2, zero.data(), out.data()) == SMM_OK);
  CHECK(out == tmpl);
  std::vector<float> coeffs = {0.5f, -1.0f};
  REQUIRE(smm_blend_shapes(tmpl.data(), 2, deltas.data(), 2, coeffs.data(), out.data()) == SMM_OK);
  CHECK(out == std::vector<float>{0.5f, 0, 0, 1, -1, 1});
}

TEST_CASE("a chain of two joints rotates about the right pivots") {
  // Root at the origin, child at (0, 1, 0); the child turns 90 degrees about z.
  const std::vector<float> rest = {0, 0, 0, 0, 1, 0};
  const std::vector<int> parents = {-1, 0};
  const float quarter = static_cast<float>(M_PI / 2);
  const std::vector<float> pose = {0, 0, 0, 0, 0, quarter};
  std::vector<float> transforms(32);
  REQUIRE(smm_joint_transforms(rest.data(), parents.data(), 2, pose.data(), transforms.data()) == SMM_OK);
  // A vertex one unit along +y from the child, fully weighted to it, swings to -x.
  const std::vector<float> vertex = {0, 2, 0};
  const std::vector<float> weights = {0, 1};
  std::vector<float> out(3);
  REQUIRE(smm_skin(vertex.data(), 1, weights.data(), 2, transforms.data(), out.data()) == SMM_OK);
  CHECK(out[0] == Approx(-1.0f).margin(1e-6));
  CHECK(out[1] == Approx(1.0f).margin(1e-6));
  CHECK(out[2] == Approx(0.0f).margin(1e-6));
  // The same vertex weighted half to each joint lands halfway.
  const std::vector<float> half = {0.5f, 0.5f};
  REQUIRE(smm_skin(vertex.data(), 1, half.data(), 2, transforms.data(), out.data()) == SMM_OK);
  CHECK(out[0] == Approx(-0.5f).margin(1e-6));
  CHECK(out[1] == Approx(1.5f).margin(1e-6));
}

TEST_CASE("zero pose gives identity transforms, and identity transforms change nothing") {
  const std::vector<float> rest = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, -1, 2, 3};
  const std::vector<int> parents = {-1, 0, 1};
  const std::vector<float> pose(9, 0.0f);
  std::vector<float> transforms(48);
  REQUIRE(smm_joint_transforms(rest.data(), parents.data(), 3, pose.data(), transforms.data()) == SMM_OK);
  const auto eye = identity4(3);
  for (int i = 0; i < 48; ++i) CHECK(transforms[i] == Approx(eye[i]).margin(1e-7));
  const std::vector<float> vertices = {1, 2, 3, -4, 5, -6};
  const std::vector<float> weights = {0.2f, 0.3f, 0.5f, 1, 0, 0};
  std::vector<float> out(6);
  REQUIRE(smm_skin(vertices.data(), 2, weights.data(), 3, eye.data(), out.data()) == SMM_OK);
  for (int i = 0; i < 6; ++i) CHECK(out[i] == Approx(vertices[i]));
}

TEST_CASE("bad arguments return a status and write nothing") {
  std::vector<float> out(48, kSentinel);
  const std::vector<float> rest = {0, 0, 0, 0, 1, 0};
  const std::vector<float> pose = {0, 0, 0, 0, 0, 1};
  const std::vector<int> good = {-1, 0};

  CHECK(smm_joint_transforms(nullptr, good.data(), 2, pose.data(), out.data()) == SMM_ERR_NULL_POINTER);
  const std::vector<int> no_root = {0, 0};
  CHECK(smm_joint_transforms(rest.data(), no_root.data(), 2, pose.data(), out.data()) == SMM_ERR_INVALID_ARGUMENT);
  const std::vector<int> forward = {-1, 1};
  CHECK(smm_joint_transforms(rest.data(), forward.data(), 2, pose.data(), out.data()) == SMM_ERR_INVALID_ARGUMENT);
  const std::vector<float> nan_pose = {0, 0, 0, kNaN, 0, 0};
  CHECK(smm_joint_transforms(rest.data(), good.data(), 2, nan_pose.data(), out.data()) == SMM_ERR_NON_FINITE);
  CHECK(smm_joint_transforms(rest.data(), good.data(), 0, pose.data(), out.data()) == SMM_ERR_INVALID_ARGUMENT);

  const std::vector<float> tmpl = {0, 0, 0};
  const std::vector<float> deltas = {1, 1, 1};
  const std::vector<float> inf = {std::numeric_limits<float>::infinity()};
  CHECK(smm_blend_shapes(tmpl.data(), 1, deltas.data(), 1, inf.data(), out.data()) == SMM_ERR_NON_FINITE);
  CHECK(smm_blend_shapes(tmpl.data(), 1, nullptr, 1, inf.data(), out.data()) == SMM_ERR_NULL_POINTER);
  CHECK(smm_blend_shapes(tmpl.data(), -1, deltas.data(), 1, deltas.data(), out.data()) == SMM_ERR_INVALID_ARGUMENT);

  auto transforms = identity4(2);
  transforms[3] = kNaN;
  const std::vector<float> weights = {1, 0};
  CHECK(smm_skin(tmpl.data(), 1, weights.data(), 2, transforms.data(), out.data()) == SMM_ERR_NON_FINITE);
  CHECK(smm_skin(tmpl.data(), 1, weights.data(), 2, transforms.data(), nullptr) == SMM_ERR_NULL_POINTER);
  CHECK(untouched(out));
}
