// The per-frame kernels (bindings/src/kernels.cpp) and the deformer's AVX2 sine layer against
// plain double-precision references, on sizes that exercise their remainders, and the SIMD
// Float4 against its portable twin.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <Eigen/Core>

#include "float4.h"
#include "kernels.h"
#include "sine_layer.h"

namespace {

using Floats = std::vector<float, Eigen::aligned_allocator<float>>;

std::vector<float> uniform(std::size_t n, std::mt19937& rng, float low = -1.0f, float high = 1.0f) {
  std::uniform_real_distribution<float> value(low, high);
  std::vector<float> out(n);
  for (float& x : out) x = value(rng);
  return out;
}

void cross(const double* a, const double* b, double* out) {
  out[0] = a[1] * b[2] - a[2] * b[1];
  out[1] = a[2] * b[0] - a[0] * b[2];
  out[2] = a[0] * b[1] - a[1] * b[0];
}

// Area-weighted unit normals in double, one face at a time.
std::vector<double> reference_normals(const std::vector<float>& v, const std::vector<std::int32_t>& faces) {
  std::vector<double> sums(v.size(), 0.0);
  for (std::size_t f = 0; f < faces.size(); f += 3) {
    double u[3], w[3], n[3];
    for (int k = 0; k < 3; ++k) {
      u[k] = double{v[3 * faces[f + 1] + k]} - v[3 * faces[f] + k];
      w[k] = double{v[3 * faces[f + 2] + k]} - v[3 * faces[f] + k];
    }
    cross(u, w, n);
    for (int corner = 0; corner < 3; ++corner)
      for (int k = 0; k < 3; ++k) sums[3 * faces[f + corner] + k] += n[k];
  }
  for (std::size_t i = 0; i < sums.size(); i += 3) {
    const double length = std::sqrt(sums[i] * sums[i] + sums[i + 1] * sums[i + 1] + sums[i + 2] * sums[i + 2]);
    for (int k = 0; k < 3; ++k) sums[i + k] = length > 0 ? sums[i + k] / length : 0.0;
  }
  return sums;
}

// 1 or 0 where /proc/cpuinfo lists both avx2 and fma or not (Linux), -1 elsewhere: a check
// independent of the library's own.
int cpuinfo_lists_avx2_and_fma() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    bool avx2 = false, fma = false;
    for (std::string word; words >> word;) {
      avx2 = avx2 || word == "avx2";
      fma = fma || word == "fma";
    }
    return avx2 && fma ? 1 : 0;
  }
  return -1;
}

}  // namespace

TEST_CASE("Float4 in use computes what the portable Float4 computes") {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 100; ++trial) {
    alignas(16) float a[4], b[4], c[4], d[4], got[4], want[4];
    const auto values = uniform(16, rng, -10.0f, 10.0f);
    std::copy(values.begin(), values.begin() + 4, a);
    std::copy(values.begin() + 4, values.begin() + 8, b);
    std::copy(values.begin() + 8, values.begin() + 12, c);
    std::copy(values.begin() + 12, values.end(), d);
    const auto same = [&](const char* what) {
      INFO(what);
      for (int k = 0; k < 4; ++k) CHECK(got[k] == Approx(want[k]).epsilon(1e-6).margin(1e-6));
    };
    namespace p = stylemm::portable;
    using stylemm::Float4;
    const Float4 x = stylemm::load(a), y = stylemm::load(b);
    const p::Float4 px = p::load(a), py = p::load(b);
    stylemm::store(got, stylemm::cross(x, y));
    p::store(want, p::cross(px, py));
    same("cross");
    stylemm::store(got, x * y - y + x * 2.5f);
    p::store(want, px * py - py + px * 2.5f);
    same("arithmetic");
    stylemm::store(got, stylemm::inverse_sqrt(x * x, 0.5f));
    p::store(want, p::inverse_sqrt(px * px, 0.5f));
    same("inverse_sqrt");
    stylemm::store(got, stylemm::lane<2>(x));
    p::store(want, p::lane<2>(px));
    same("lane");
    Float4 r0 = x, r1 = y, r2 = stylemm::load(c), r3 = stylemm::load(d);
    p::Float4 q0 = px, q1 = py, q2 = p::load(c), q3 = p::load(d);
    stylemm::transpose(r0, r1, r2, r3);
    p::transpose(q0, q1, q2, q3);
    stylemm::store(got, r1);
    p::store(want, q1);
    same("transpose");
    CHECK(want[0] == a[1]);
    CHECK(want[2] == c[1]);
  }
}

TEST_CASE("vertex normals: area-weighted, unit, zero where no triangle has area") {
  std::mt19937 rng(5);
  // 11 vertices: not a multiple of the four the normalisation takes at a time. Vertex 9 is in
  // no triangle; vertex 10 only in a degenerate one (two corners the same point).
  const int n = 11;
  std::vector<float> v = uniform(3 * n, rng);
  for (int k = 0; k < 3; ++k) v[3 * 8 + k] = v[3 * 7 + k];
  std::vector<std::int32_t> faces;
  std::uniform_int_distribution<int> corner(0, 8);
  for (int f = 0; f < 17; ++f) {  // 18 faces in all: not a multiple of the four interleaved runs
    int a = corner(rng), b = corner(rng), c = corner(rng);
    while (b == a) b = corner(rng);
    while (c == a || c == b) c = corner(rng);
    faces.insert(faces.end(), {a, b, c});
  }
  faces.insert(faces.end(), {7, 8, 10});
  Floats points(4 * n), sums(4 * n);
  std::vector<float> normals(3 * n, -1.0f);
  stylemm::pad(points.data(), v.data(), n);
  stylemm::vertex_normals(normals.data(), points.data(), faces.data(), n, static_cast<int>(faces.size() / 3),
                          sums.data());
  const std::vector<double> want = reference_normals(v, faces);
  for (int i = 0; i < 3 * n; ++i) {
    INFO("element " << i);
    CHECK(normals[i] == Approx(want[i]).margin(1e-5));
  }
  for (int k = 0; k < 3; ++k) {
    CHECK(normals[3 * 9 + k] == 0.0f);
    CHECK(normals[3 * 10 + k] == 0.0f);
  }
}

TEST_CASE("planned skinning equals dense skinning, for lone, blended and unweighted vertices") {
  std::mt19937 rng(7);
  const int n = 6, joints = 3;
  // Rows: lone on 0, lone on 2 with weight 0.5, blended 0+1, blended all three, no joint, lone on 1.
  const std::vector<float> weights = {1, 0, 0, 0, 0, 0.5f, 0.3f, 0.7f, 0, 0.2f, 0.3f, 0.5f, 0, 0, 0, 0, 1, 0};
  std::vector<float> transforms(16 * joints, 0.0f);
  for (int j = 0; j < joints; ++j) {
    const auto top = uniform(12, rng);
    std::copy(top.begin(), top.end(), transforms.begin() + 16 * j);
    transforms[16 * j + 15] = 1.0f;
  }
  const std::vector<float> v = uniform(3 * n, rng);
  std::vector<float> want(3 * n), got(3 * n);
  stylemm::skin(want.data(), v.data(), weights.data(), transforms.data(), n, joints);
  const stylemm::SkinPlan plan = stylemm::plan_skin(weights.data(), n, joints);
  REQUIRE(plan.unweighted_vertex == std::vector<std::int32_t>{4});
  Floats columns(16 * joints), points(4 * n);
  stylemm::joint_columns(columns.data(), transforms.data(), joints);
  stylemm::skin_planned(points.data(), v.data(), plan, columns.data());
  stylemm::unpad(got.data(), points.data(), n);
  for (int i = 0; i < 3 * n; ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(want[i]).margin(1e-6));
  }
  for (int k = 0; k < 3; ++k) CHECK(got[3 * 4 + k] == 0.0f);  // no weight: the origin, like skin()
  for (int i = 0; i < n; ++i) CHECK(points[4 * i + 3] == 0.0f);         // the padding stays 0
}

TEST_CASE("the blend adds each active shape once, however many there are") {
  std::mt19937 rng(11);
  const int n = 5, shapes = 9;
  const std::vector<float> base = uniform(3 * n, rng), deltas = uniform(3 * n * shapes, rng);
  // 0 to 9 active shapes: the groups of four and every remainder.
  for (int active = 0; active <= shapes; ++active) {
    std::vector<float> coeffs(shapes, 0.0f);
    for (int k = 0; k < active; ++k) coeffs[(3 * k) % shapes] = 0.1f * (k + 1);
    std::vector<float> got(3 * n);
    stylemm::blend(got.data(), base.data(), deltas.data(), coeffs.data(), n, shapes);
    for (int i = 0; i < 3 * n; ++i) {
      double want = base[i];
      for (int k = 0; k < shapes; ++k) want += double{coeffs[k]} * deltas[3 * n * k + i];
      INFO(active << " active, element " << i);
      CHECK(got[i] == Approx(want).margin(1e-6));
    }
  }
}

TEST_CASE("the AVX2 sine layer is sin(in * W^T + b), and is used wherever the CPU has AVX2 and FMA") {
  const stylemm::SineLayer kernel = stylemm::avx2_sine_layer();
#if defined(STYLEMM_AVX2_KERNEL) && (defined(__GNUC__) || defined(__clang__))
  if (cpuinfo_lists_avx2_and_fma() >= 0) REQUIRE((kernel != nullptr) == (cpuinfo_lists_avx2_and_fma() == 1));
#endif
  if (!kernel) return;  // neither this build nor this CPU has it: the deformer uses Eigen alone
  std::mt19937 rng(13);
  SECTION("the sine alone, over many periods, to float precision") {
    // One input of 1 with weight 0: out = sin(bias) exactly as the kernel computes it.
    const std::vector<float> one = {1.0f}, zeros(16, 0.0f);
    for (int trial = 0; trial < 200; ++trial) {
      const std::vector<float> bias = uniform(16, rng, -200.0f, 200.0f);
      std::vector<float> out(16);
      kernel(out.data(), one.data(), zeros.data(), bias.data(), 1, 1, 16);
      for (int j = 0; j < 16; ++j) {
        INFO("sin(" << bias[j] << ")");
        CHECK(out[j] == Approx(std::sin(double{bias[j]})).margin(3e-7));
      }
    }
  }
  SECTION("the layer, for groups of four rows and rows alone") {
    // Pre-activations up to about +-170, as with w0 = 30 folded into the weights.
    for (const auto& [rows, fan_in, fan_out] : {std::tuple{7, 3, 16}, std::tuple{7, 17, 32}}) {
      const std::vector<float> in = uniform(static_cast<std::size_t>(rows * fan_in), rng),
                               weight_t = uniform(static_cast<std::size_t>(fan_in * fan_out), rng, -8.0f, 8.0f),
                               bias = uniform(static_cast<std::size_t>(fan_out), rng, -30.0f, 30.0f);
      std::vector<float> out(static_cast<std::size_t>(rows * fan_out));
      kernel(out.data(), in.data(), weight_t.data(), bias.data(), rows, fan_in, fan_out);
      for (int i = 0; i < rows; ++i)
        for (int j = 0; j < fan_out; ++j) {
          double x = bias[j];
          for (int k = 0; k < fan_in; ++k) x += double{in[i * fan_in + k]} * weight_t[k * fan_out + j];
          INFO(rows << "x" << fan_in << "x" << fan_out << " at " << i << ", " << j << ": sin(" << x << ")");
          // float sums of terms up to 8 in size move a pre-activation, and so its sine, by ~1e-5
          CHECK(out[i * fan_out + j] == Approx(std::sin(x)).margin(3e-5));
        }
    }
  }
}
