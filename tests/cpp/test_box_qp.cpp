// stylemm::BoxQp (bindings/src/box_qp.h), compiled into the tests: hand-computed optima with
// free, active and infinite bounds, and small random problems against an enumeration of
// every active set (the KKT point is unique for a positive-definite H).
#include <catch2/catch.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "allocations.h"
#include "box_qp.h"

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Eigen::VectorXd solve(const Eigen::MatrixXd& h, const Eigen::VectorXd& c, const Eigen::VectorXd& lower,
                      const Eigen::VectorXd& upper) {
  stylemm::BoxQp qp(static_cast<int>(c.size()));
  Eigen::VectorXd x(c.size());
  qp.solve(x, h, c, lower, upper);
  return x;
}

// The minimiser by brute force: every variable free, at its lower or at its upper bound.
Eigen::VectorXd enumerate(const Eigen::MatrixXd& h, const Eigen::VectorXd& c, const Eigen::VectorXd& lower,
                          const Eigen::VectorXd& upper) {
  const int k = static_cast<int>(c.size());
  Eigen::VectorXd best;
  double best_cost = kInf;
  int combinations = 1;
  for (int i = 0; i < k; ++i) combinations *= 3;
  for (int code = 0; code < combinations; ++code) {
    Eigen::VectorXd x = Eigen::VectorXd::Zero(k);
    std::vector<int> free;
    bool possible = true;
    for (int i = 0, rest = code; i < k; ++i, rest /= 3) {
      const int state = rest % 3;  // 0 free, 1 lower, 2 upper
      if (state == 0) free.push_back(i);
      const double bound = state == 1 ? lower[i] : upper[i];
      if (state != 0 && !std::isfinite(bound)) possible = false;
      if (state != 0) x[i] = bound;
    }
    if (!possible) continue;
    if (!free.empty()) {
      const int n = static_cast<int>(free.size());
      Eigen::MatrixXd a(n, n);
      Eigen::VectorXd b(n);
      for (int p = 0; p < n; ++p) {
        b[p] = c[free[p]];
        for (int j = 0; j < k; ++j)
          if (std::find(free.begin(), free.end(), j) == free.end()) b[p] -= h(free[p], j) * x[j];
        for (int q = 0; q < n; ++q) a(p, q) = h(free[p], free[q]);
      }
      const Eigen::VectorXd y = a.llt().solve(b);
      for (int p = 0; p < n; ++p) x[free[p]] = y[p];
    }
    if (((x - lower).array() < -1e-12).any() || ((x - upper).array() > 1e-12).any()) continue;
    const double cost = 0.5 * x.dot(h * x) - c.dot(x);
    if (cost < best_cost) best_cost = cost, best = x;
  }
  return best;
}

}  // namespace

TEST_CASE("box QP: unbounded variables give the plain solution of H x = c") {
  Eigen::MatrixXd h(2, 2);
  h << 2, 1, 1, 2;
  const Eigen::VectorXd c = Eigen::Vector2d(3, 0);
  const Eigen::VectorXd inf = Eigen::Vector2d::Constant(kInf);
  const Eigen::VectorXd x = solve(h, c, -inf, inf);
  CHECK(x[0] == Approx(2.0).margin(1e-12));  // [[2, 1], [1, 2]]^-1 [3, 0] = [2, -1]
  CHECK(x[1] == Approx(-1.0).margin(1e-12));
}

TEST_CASE("box QP: an active lower bound moves the coupled free variable") {
  Eigen::MatrixXd h(2, 2);
  h << 2, 1, 1, 2;
  const Eigen::VectorXd c = Eigen::Vector2d(3, 0);
  // x1 >= 0 blocks the unconstrained -1: x1 = 0, then 2 x0 = 3 (x0 unbounded).
  const Eigen::VectorXd x = solve(h, c, Eigen::Vector2d(-kInf, 0), Eigen::Vector2d(kInf, kInf));
  CHECK(x[0] == Approx(1.5).margin(1e-12));
  CHECK(x[1] == 0.0);
}

TEST_CASE("box QP: a bound held by the first greedy pass is released when it pulls away") {
  // Unconstrained [[1, 0.9], [0.9, 1]]^-1 [1.9, -0.5] = [12.4, -11.6] (approx): both overshoot
  // [0, 1]^2, the greedy pass holds x0 at 1 and x1 at 0; at (1, 0) the gradient of x1 is
  // 0.9 + 0.5 > 0, pushing into its bound, while x0's is 1 - 1.9 < 0 against the upper one:
  // the optimum is the corner (1, 0). With c1 = 1.0 instead, x1 must come free: x1 = 1 - 0.9 = 0.1.
  Eigen::MatrixXd h(2, 2);
  h << 1, 0.9, 0.9, 1;
  const Eigen::VectorXd zero = Eigen::Vector2d::Zero(), one = Eigen::Vector2d::Ones();
  Eigen::VectorXd x = solve(h, Eigen::Vector2d(1.9, -0.5), zero, one);
  CHECK(x[0] == 1.0);
  CHECK(x[1] == 0.0);
  x = solve(h, Eigen::Vector2d(1.9, 1.0), zero, one);  // unconstrained: x0 ~ 5.3, x1 ~ -3.7
  CHECK(x[0] == 1.0);
  CHECK(x[1] == Approx(0.1).margin(1e-12));
}

TEST_CASE("box QP: equal bounds pin a variable, and x0 outside the box is clipped") {
  Eigen::MatrixXd h = Eigen::MatrixXd::Identity(3, 3);
  const Eigen::VectorXd c = Eigen::Vector3d(0.5, 2.0, -3.0);
  stylemm::BoxQp qp(3);
  Eigen::VectorXd x(3);
  const double x0[3] = {5.0, -5.0, 0.0};
  qp.solve(x, h, c, Eigen::Vector3d(0, 0.25, -kInf), Eigen::Vector3d(1, 0.25, kInf), x0);
  CHECK(x[0] == Approx(0.5).margin(1e-12));
  CHECK(x[1] == 0.25);
  CHECK(x[2] == Approx(-3.0).margin(1e-12));
}

TEST_CASE("box QP: random problems reach the optimum an enumeration of the active sets finds") {
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0, 1);
  for (int trial = 0; trial < 200; ++trial) {
    const int k = 1 + trial % 6;
    Eigen::MatrixXd a(k + 2, k);
    for (int i = 0; i < a.size(); ++i) a.data()[i] = normal(rng);
    const Eigen::MatrixXd h = a.transpose() * a + 0.05 * Eigen::MatrixXd::Identity(k, k);
    Eigen::VectorXd c(k), lower(k), upper(k);
    for (int i = 0; i < k; ++i) {
      c[i] = 3 * normal(rng);
      lower[i] = uniform(rng) < 0.2 ? -kInf : -uniform(rng);
      upper[i] = uniform(rng) < 0.2 ? kInf : uniform(rng);
    }
    const Eigen::VectorXd x = solve(h, c, lower, upper);
    const Eigen::VectorXd expected = enumerate(h, c, lower, upper);
    INFO("trial " << trial);
    CHECK((x - expected).cwiseAbs().maxCoeff() < 1e-9);
    CHECK(((x - lower).array() >= 0).all());
    CHECK(((upper - x).array() >= 0).all());
  }
}

TEST_CASE("box QP: solving allocates nothing") {
  const int k = 20;
  Eigen::MatrixXd a = Eigen::MatrixXd::Random(30, k);
  const Eigen::MatrixXd h = a.transpose() * a;
  const Eigen::VectorXd c = Eigen::VectorXd::Random(k) * 5, lower = Eigen::VectorXd::Zero(k),
                        upper = Eigen::VectorXd::Ones(k);
  stylemm::BoxQp qp(k);
  Eigen::VectorXd x(k);
  qp.solve(x, h, c, lower, upper);
  const long before = test::allocations();
  const int passes = qp.solve(x, h, c, lower, upper);
  CHECK(test::allocations() == before);
  CHECK(passes > 1);  // bounds were in play
}
