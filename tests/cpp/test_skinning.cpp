// The C ABI against hand-computed cases; every error path returns its status and writes nothing.
// Built with ASan + UBSan (tests/cpp/run.sh).
#include <catch2/catch.hpp>

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "allocations.h"
#include "stylemm/stylemm.h"

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kSentinel = -12345.0f;
const float kQuarterTurn = static_cast<float>(M_PI / 2);

std::vector<float> identity4(int n_joints) {
  std::vector<float> m(16 * n_joints, 0.0f);
  for (int j = 0; j < n_joints; ++j)
    for (int d = 0; d < 4; ++d) m[16 * j + 5 * d] = 1.0f;
  return m;
}

bool untouched(const std::vector<float>& v) {
  for (float x : v)
    if (std::memcmp(&x, &kSentinel, sizeof x) != 0) return false;
  return true;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, double margin = 1e-6) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(want[i]).margin(margin));
  }
}

}  // namespace

TEST_CASE("the library reports the version of its header") {
  CHECK(smm_version() == STYLEMM_VERSION);
  CHECK(STYLEMM_VERSION == STYLEMM_VERSION_MAJOR * 10000 + STYLEMM_VERSION_MINOR * 100 + STYLEMM_VERSION_PATCH);
  CHECK(std::string(smm_status_string(SMM_OK)) == "ok");
  const smm_status errors[] = {SMM_ERR_INVALID_ARGUMENT, SMM_ERR_NON_FINITE, SMM_ERR_NULL_POINTER,
                               SMM_ERR_INVALID_PARENTS};
  for (smm_status s : errors) CHECK(std::string(smm_status_string(s)) != "unknown status code");
}

TEST_CASE("blend shapes add weighted morph targets to the template") {
  const std::vector<float> tmpl = {0, 0, 0, 1, 1, 1};
  const std::vector<float> deltas = {1, 0, 0, 0, 0, 0,   // target 0 moves vertex 0 along x
                                     0, 0, 0, 0, 2, 0};  // target 1 moves vertex 1 along y
  std::vector<float> out(6, kSentinel);

  SECTION("zero coefficients give the template") {
    const std::vector<float> zero = {0, 0};
    REQUIRE(smm_blend_shapes(out.data(), tmpl.data(), deltas.data(), zero.data(), 2, 2) == SMM_OK);
    CHECK(out == tmpl);
  }
  SECTION("coefficients scale their targets") {
    const std::vector<float> coeffs = {0.5f, -1.0f};
    REQUIRE(smm_blend_shapes(out.data(), tmpl.data(), deltas.data(), coeffs.data(), 2, 2) == SMM_OK);
    CHECK(out == std::vector<float>{0.5f, 0, 0, 1, -1, 1});
  }
  SECTION("in place, out being the template") {
    std::vector<float> vertices = tmpl;
    const std::vector<float> coeffs = {2.0f, 1.0f};
    REQUIRE(smm_blend_shapes(vertices.data(), vertices.data(), deltas.data(), coeffs.data(), 2, 2) == SMM_OK);
    CHECK(vertices == std::vector<float>{2, 0, 0, 1, 3, 1});
  }
}

TEST_CASE("blend shapes on a head-sized mesh match a plain loop, without allocating") {
  // 5k vertices x 60 targets: large enough that Eigen would take the heap for temporaries.
  const int n = 5000, k = 60;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> tmpl(3 * n), deltas(3 * n * k), coeffs(k), out(3 * n);
  for (auto* v : {&tmpl, &deltas, &coeffs})
    for (float& x : *v) x = normal(rng);
  const long before = test::allocations();
  REQUIRE(smm_blend_shapes(out.data(), tmpl.data(), deltas.data(), coeffs.data(), n, k) == SMM_OK);
  CHECK(test::allocations() == before);
  for (int i = 0; i < 3 * n; i += 97) {
    double expected = tmpl[i];
    for (int s = 0; s < k; ++s) expected += double(coeffs[s]) * deltas[size_t(s) * 3 * n + i];
    CHECK(out[i] == Approx(expected).margin(1e-4));
  }
}

TEST_CASE("a chain of two joints turns about the right pivots") {
  // Root at the origin, child at (0, 1, 0); both turn a quarter about +z.
  const std::vector<float> rest = {0, 0, 0, 0, 1, 0};
  const std::vector<int> parents = {-1, 0};
  const std::vector<float> pose = {0, 0, kQuarterTurn, 0, 0, kQuarterTurn};
  std::vector<float> transforms(32, kSentinel);
  REQUIRE(smm_joint_transforms(transforms.data(), rest.data(), parents.data(), pose.data(), 2) == SMM_OK);
  // Root: a quarter turn about the origin. Child: a half turn in total, about its own
  // pivot moved to (-1, 0, 0), so its skinning translation is (-1, 0, 0) - R (0, 1, 0).
  check_close(std::vector<float>(transforms.begin(), transforms.begin() + 16),
              {0, -1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});
  check_close(std::vector<float>(transforms.begin() + 16, transforms.end()),
              {-1, 0, 0, -1, 0, -1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1});

  // Vertices: (1, 0, 0) on the root, (0, 2, 0) on the child, (0, 2, 0) split half and half.
  const std::vector<float> vertices = {1, 0, 0, 0, 2, 0, 0, 2, 0};
  const std::vector<float> weights = {1, 0, 0, 1, 0.5f, 0.5f};
  std::vector<float> out(9, kSentinel);
  REQUIRE(smm_skin(out.data(), vertices.data(), weights.data(), transforms.data(), 3, 2) == SMM_OK);
  // On the child: (0, 2, 0) -> child turn about (0, 1, 0) -> (-1, 1, 0) -> root turn -> (-1, -1, 0).
  // Half and half: the average of the root's (-2, 0, 0) and the child's (-1, -1, 0).
  check_close(out, {0, 1, 0, -1, -1, 0, -1.5f, -0.5f, 0});
}

TEST_CASE("zero pose gives identity transforms, and identity transforms change nothing") {
  const std::vector<float> rest = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, -1, 2, 3};
  const std::vector<int> parents = {-1, 0, 1};
  const std::vector<float> pose(9, 0.0f);
  std::vector<float> transforms(48, kSentinel);
  REQUIRE(smm_joint_transforms(transforms.data(), rest.data(), parents.data(), pose.data(), 3) == SMM_OK);
  const auto eye = identity4(3);
  check_close(transforms, eye, 1e-7);

  std::vector<float> vertices = {1, 2, 3, -4, 5, -6};
  const std::vector<float> weights = {0.2f, 0.3f, 0.5f, 1, 0, 0};
  std::vector<float> out(6, kSentinel);
  REQUIRE(smm_skin(out.data(), vertices.data(), weights.data(), eye.data(), 2, 3) == SMM_OK);
  check_close(out, vertices);
  SECTION("in place, out being the vertices") {
    const std::vector<float> before = vertices;
    REQUIRE(smm_skin(vertices.data(), vertices.data(), weights.data(), eye.data(), 2, 3) == SMM_OK);
    check_close(vertices, before);
  }
}

TEST_CASE("bad arguments return their status and write nothing") {
  std::vector<float> out(48, kSentinel);
  const std::vector<float> rest = {0, 0, 0, 0, 1, 0, 1, 1, 0};
  const std::vector<float> pose = {0, 0, 0, 0, 0, 1, 1, 0, 0};
  const std::vector<int> parents = {-1, 0, 1};
  const std::vector<float> tmpl = {0, 0, 0, 1, 1, 1};
  const std::vector<float> deltas = {1, 1, 1, 1, 1, 1};
  const std::vector<float> coeffs = {0.5f};
  const std::vector<float> weights = {1, 0, 0, 0.5f, 0.5f, 0};
  const auto transforms = identity4(3);

  SECTION("null pointers") {
    CHECK(smm_blend_shapes(nullptr, tmpl.data(), deltas.data(), coeffs.data(), 2, 1) == SMM_ERR_NULL_POINTER);
    CHECK(smm_blend_shapes(out.data(), nullptr, deltas.data(), coeffs.data(), 2, 1) == SMM_ERR_NULL_POINTER);
    CHECK(smm_blend_shapes(out.data(), tmpl.data(), nullptr, coeffs.data(), 2, 1) == SMM_ERR_NULL_POINTER);
    CHECK(smm_blend_shapes(out.data(), tmpl.data(), deltas.data(), nullptr, 2, 1) == SMM_ERR_NULL_POINTER);
    CHECK(smm_joint_transforms(nullptr, rest.data(), parents.data(), pose.data(), 3) == SMM_ERR_NULL_POINTER);
    CHECK(smm_joint_transforms(out.data(), nullptr, parents.data(), pose.data(), 3) == SMM_ERR_NULL_POINTER);
    CHECK(smm_joint_transforms(out.data(), rest.data(), nullptr, pose.data(), 3) == SMM_ERR_NULL_POINTER);
    CHECK(smm_joint_transforms(out.data(), rest.data(), parents.data(), nullptr, 3) == SMM_ERR_NULL_POINTER);
    CHECK(smm_skin(nullptr, tmpl.data(), weights.data(), transforms.data(), 2, 3) == SMM_ERR_NULL_POINTER);
    CHECK(smm_skin(out.data(), nullptr, weights.data(), transforms.data(), 2, 3) == SMM_ERR_NULL_POINTER);
    CHECK(smm_skin(out.data(), tmpl.data(), nullptr, transforms.data(), 2, 3) == SMM_ERR_NULL_POINTER);
    CHECK(smm_skin(out.data(), tmpl.data(), weights.data(), nullptr, 2, 3) == SMM_ERR_NULL_POINTER);
  }
  SECTION("counts that are not positive, or whose product overflows") {
    for (int bad : {0, -1, INT_MIN}) {
      CHECK(smm_blend_shapes(out.data(), tmpl.data(), deltas.data(), coeffs.data(), bad, 1) ==
            SMM_ERR_INVALID_ARGUMENT);
      CHECK(smm_blend_shapes(out.data(), tmpl.data(), deltas.data(), coeffs.data(), 2, bad) ==
            SMM_ERR_INVALID_ARGUMENT);
      CHECK(smm_joint_transforms(out.data(), rest.data(), parents.data(), pose.data(), bad) ==
            SMM_ERR_INVALID_ARGUMENT);
      CHECK(smm_skin(out.data(), tmpl.data(), weights.data(), transforms.data(), bad, 3) == SMM_ERR_INVALID_ARGUMENT);
      CHECK(smm_skin(out.data(), tmpl.data(), weights.data(), transforms.data(), 2, bad) == SMM_ERR_INVALID_ARGUMENT);
    }
    // 3 * INT_MAX * INT_MAX floats cannot exist: refused before anything is read.
    CHECK(smm_blend_shapes(out.data(), tmpl.data(), deltas.data(), coeffs.data(), INT_MAX, INT_MAX) ==
          SMM_ERR_INVALID_ARGUMENT);
  }
  SECTION("parents out of order") {
    const std::vector<std::vector<int>> bad = {{0, 0, 1}, {-1, 1, 1}, {-1, 0, 2}, {-1, 0, 3}, {-1, -1, 0}, {-1, 0, -2}};
    for (const auto& p : bad) {
      INFO("parents " << p[0] << ", " << p[1] << ", " << p[2]);
      CHECK(smm_joint_transforms(out.data(), rest.data(), p.data(), pose.data(), 3) == SMM_ERR_INVALID_PARENTS);
    }
  }
  SECTION("NaN or Inf in any input") {
    for (float bad : {kNaN, kInf, -kInf}) {
      for (size_t i = 0; i < 6; ++i) {
        auto t = tmpl, w = weights;
        auto c = coeffs;
        t[i] = bad;
        w[i] = bad;
        c[0] = bad;
        CHECK(smm_blend_shapes(out.data(), t.data(), deltas.data(), coeffs.data(), 2, 1) == SMM_ERR_NON_FINITE);
        CHECK(smm_blend_shapes(out.data(), tmpl.data(), deltas.data(), c.data(), 2, 1) == SMM_ERR_NON_FINITE);
        CHECK(smm_skin(out.data(), t.data(), weights.data(), transforms.data(), 2, 3) == SMM_ERR_NON_FINITE);
        CHECK(smm_skin(out.data(), tmpl.data(), w.data(), transforms.data(), 2, 3) == SMM_ERR_NON_FINITE);
      }
      for (size_t i = 0; i < 9; ++i) {
        auto r = rest, p = pose;
        r[i] = bad;
        p[i] = bad;
        CHECK(smm_joint_transforms(out.data(), r.data(), parents.data(), pose.data(), 3) == SMM_ERR_NON_FINITE);
        CHECK(smm_joint_transforms(out.data(), rest.data(), parents.data(), p.data(), 3) == SMM_ERR_NON_FINITE);
      }
      for (size_t i = 0; i < 48; ++i) {
        auto m = transforms;
        m[i] = bad;
        CHECK(smm_skin(out.data(), tmpl.data(), weights.data(), m.data(), 2, 3) == SMM_ERR_NON_FINITE);
      }
    }
  }
  CHECK(untouched(out));
}

TEST_CASE("NaN in the morph targets, which are not scanned, is caught by the skinning that follows") {
  const std::vector<float> tmpl = {0, 0, 0, 1, 1, 1};
  const std::vector<float> deltas = {0, 0, 0, kNaN, 0, 0};
  const std::vector<float> coeffs = {1.0f};
  std::vector<float> vertices(6);
  REQUIRE(smm_blend_shapes(vertices.data(), tmpl.data(), deltas.data(), coeffs.data(), 2, 1) == SMM_OK);
  CHECK(std::isnan(vertices[3]));
  const std::vector<float> weights = {1, 1};
  const auto transforms = identity4(1);
  std::vector<float> out(6, kSentinel);
  CHECK(smm_skin(out.data(), vertices.data(), weights.data(), transforms.data(), 2, 1) == SMM_ERR_NON_FINITE);
  CHECK(untouched(out));
}
