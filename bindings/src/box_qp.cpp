// The primal active-set box QP (box_qp.h), line for line after bounded.py's solve_box_qp.
#include "box_qp.h"

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <limits>

namespace stylemm {

BoxQp::BoxQp(int size)
    : x_(size), target_(size), gradient_(size), rhs_(size), ratio_(size), sub_(size, size), free_index_(size),
      at_lower_(size), at_upper_(size), blocked_low_(size), blocked_high_(size) {}

int BoxQp::solve(Eigen::Ref<Eigen::VectorXd> x_out, const Eigen::Ref<const Eigen::MatrixXd>& h,
                 const Eigen::Ref<const Eigen::VectorXd>& c, const Eigen::Ref<const Eigen::VectorXd>& lower,
                 const Eigen::Ref<const Eigen::VectorXd>& upper, const double* x0, int max_passes) {
  const int k = size();
  auto& x = x_;
  for (int i = 0; i < k; ++i) x[i] = std::clamp(x0 ? x0[i] : 0.0, lower[i], upper[i]);
  gradient_.noalias() = h * x;
  gradient_ -= c;
  // Start with the bounds the gradient pushes against (a warm start's active set).
  for (int i = 0; i < k; ++i) {
    at_lower_[i] = x[i] <= lower[i] && gradient_[i] > 0;
    at_upper_[i] = x[i] >= upper[i] && gradient_[i] < 0;
  }
  const double scale = kTolerance * (1.0 + (k ? c.cwiseAbs().maxCoeff() : 0.0));
  const int passes = max_passes > 0 ? max_passes : 4 * k + 10;
  int iteration = 0;
  for (; iteration < passes; ++iteration) {
    int n = 0;  // free variables, listed in free_index_
    for (int i = 0; i < k; ++i)
      if (!(at_lower_[i] || at_upper_[i])) free_index_[n++] = i;
    target_ = x;
    if (n > 0) {
      // c[free] - h[free][:, fixed] @ x[fixed], and h[free][:, free], gathered.
      for (int a = 0; a < n; ++a) {
        const int i = free_index_[a];
        double r = c[i];
        for (int j = 0; j < k; ++j)
          if (at_lower_[j] || at_upper_[j]) r -= h(i, j) * x[j];
        rhs_[a] = r;
        for (int b = 0; b < n; ++b) sub_(a, b) = h(i, free_index_[b]);
      }
      Eigen::Ref<Eigen::MatrixXd> block = sub_.topLeftCorner(n, n);
      Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(block);  // in place: no allocation
      auto solution = rhs_.head(n);
      if (llt.info() == Eigen::Success) {
        llt.solveInPlace(solution);
      } else {  // numerically indefinite: a pivoting factorisation (allocates; never seen in the solver)
        Eigen::MatrixXd copy(n, n);
        for (int a = 0; a < n; ++a)
          for (int b = 0; b < n; ++b) copy(a, b) = h(free_index_[a], free_index_[b]);
        solution = copy.fullPivLu().solve(Eigen::VectorXd(solution));
      }
      for (int a = 0; a < n; ++a) target_[free_index_[a]] = solution[a];
    }
    bool blocked = false;
    for (int i = 0; i < k; ++i) {
      const bool is_free = !(at_lower_[i] || at_upper_[i]);
      blocked_low_[i] = is_free && target_[i] < lower[i];
      blocked_high_[i] = is_free && target_[i] > upper[i];
      blocked = blocked || blocked_low_[i] || blocked_high_[i];
    }
    if (blocked && iteration < kGreedyPasses) {
      // First passes: hold every variable that overshoots at its bound at once (a good guess
      // of the final active set when warm-started); the exact method follows.
      for (int i = 0; i < k; ++i) {
        at_lower_[i] = at_lower_[i] || blocked_low_[i];
        at_upper_[i] = at_upper_[i] || blocked_high_[i];
        x[i] = std::clamp(target_[i], lower[i], upper[i]);
      }
      continue;
    }
    if (blocked) {
      // Walk towards the subspace optimum until the first bound blocks, and hold it there.
      double smallest = std::numeric_limits<double>::infinity();
      for (int i = 0; i < k; ++i) {
        const double step = target_[i] - x[i];
        ratio_[i] = blocked_low_[i]    ? (lower[i] - x[i]) / step
                    : blocked_high_[i] ? (upper[i] - x[i]) / step
                                       : std::numeric_limits<double>::infinity();
        smallest = std::min(smallest, ratio_[i]);
      }
      const double alpha = std::clamp(smallest, 0.0, 1.0);
      for (int i = 0; i < k; ++i) {
        x[i] = std::clamp(x[i] + alpha * (target_[i] - x[i]), lower[i], upper[i]);
        at_lower_[i] = at_lower_[i] || (blocked_low_[i] && ratio_[i] <= alpha + kTolerance);
        at_upper_[i] = at_upper_[i] || (blocked_high_[i] && ratio_[i] <= alpha + kTolerance);
      }
      for (int i = 0; i < k; ++i)
        if (at_lower_[i]) x[i] = lower[i];
      for (int i = 0; i < k; ++i)
        if (at_upper_[i]) x[i] = upper[i];
      continue;
    }
    x = target_;
    // A bound is right while the gradient pushes against it; release those that pull away.
    bool released = false;
    for (int i = 0; i < k; ++i) {
      if (!(at_lower_[i] || at_upper_[i])) continue;
      const double g = h.row(i).dot(x) - c[i];
      const bool release = (at_lower_[i] && g < -scale) || (at_upper_[i] && g > scale);
      if (release) at_lower_[i] = at_upper_[i] = false;
      released = released || release;
    }
    if (!released) {
      x_out = x;
      return iteration + 1;
    }
  }
  x_out = x;
  return iteration;
}

}  // namespace stylemm
