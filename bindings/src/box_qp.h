// Box-constrained quadratic programs: the tracking solver's step (face_solver.h). A port of
// runtime/stylemm_runtime/tracking/bounded.py's solve_box_qp, same method and constants:
// minimise 0.5 x'Hx - c'x subject to lower <= x <= upper for a small dense symmetric
// positive-definite H by a primal active-set method (solve on the free variables, step to
// the first bound that blocks, release the bounds whose multipliers have the wrong sign),
// the first two passes holding every overshooting variable at once. Infinite bounds are
// allowed. A BoxQp owns its scratch memory, sized once: solving allocates nothing.
#pragma once

#include <Eigen/Core>

namespace stylemm {

class BoxQp {
 public:
  static constexpr double kTolerance = 1e-10;
  static constexpr int kGreedyPasses = 2;

  explicit BoxQp(int size);

  int size() const { return static_cast<int>(x_.size()); }

  // The minimiser into x (size k). h (k, k) symmetric positive definite (only its values are
  // read, both triangles), lower <= upper elementwise (the caller checks), x0 a start or
  // nullptr (zeros), max_passes <= 0 for the default 4k + 10. Returns the passes used.
  int solve(Eigen::Ref<Eigen::VectorXd> x, const Eigen::Ref<const Eigen::MatrixXd>& h,
            const Eigen::Ref<const Eigen::VectorXd>& c, const Eigen::Ref<const Eigen::VectorXd>& lower,
            const Eigen::Ref<const Eigen::VectorXd>& upper, const double* x0 = nullptr, int max_passes = 0);

 private:
  Eigen::VectorXd x_, target_, gradient_, rhs_, ratio_;
  Eigen::MatrixXd sub_;  // the free rows and columns of h, factored in place
  Eigen::VectorXi free_index_;
  Eigen::Matrix<bool, Eigen::Dynamic, 1> at_lower_, at_upper_, blocked_low_, blocked_high_;
};

}  // namespace stylemm
