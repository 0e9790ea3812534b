// Rotations (rotations.h), after rotations.py.
#include "rotations.h"

#include <Eigen/LU>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

namespace stylemm {

namespace {

double sinc(double a) { return std::abs(a) < 1e-8 ? 1.0 - a * a / 6.0 : std::sin(a) / a; }  // sin(a) / a

constexpr double kPi = 3.14159265358979323846;

}  // namespace

Eigen::Matrix3d rotation_exp(const Eigen::Vector3d& v) {
  const double angle = v.norm();
  Eigen::Matrix3d skew;
  skew << 0, -v.z(), v.y(), v.z(), 0, -v.x(), -v.y(), v.x(), 0;
  const double half = sinc(angle / 2);
  return Eigen::Matrix3d::Identity() + sinc(angle) * skew + (0.5 * half * half) * (skew * skew);
}

Eigen::Vector3d rotation_log(const Eigen::Matrix3d& r) {
  const Eigen::Vector3d skew = Eigen::Vector3d(r(2, 1) - r(1, 2), r(0, 2) - r(2, 0), r(1, 0) - r(0, 1)) / 2;
  const double cos = std::clamp((r.trace() - 1) / 2, -1.0, 1.0);
  const double sin = skew.norm();
  const double angle = std::atan2(sin, cos);
  if (sin > 1e-6) return skew * (angle / sin);
  if (cos > 0) return skew;  // near the identity: sin(a) ~ a
  // Near a half turn the skew part vanishes; the axis is the dominant column of R + I.
  Eigen::Index dominant;
  r.diagonal().maxCoeff(&dominant);
  const Eigen::Vector3d column = (r + Eigen::Matrix3d::Identity()).col(dominant);
  return kPi * column / column.norm();
}

Eigen::Matrix3d procrustes_rotation(const Eigen::Ref<const Eigen::Matrix3Xd>& source,
                                    const Eigen::Ref<const Eigen::Matrix3Xd>& target,
                                    const Eigen::Ref<const Eigen::VectorXd>& weights) {
  const Eigen::VectorXd w = weights / weights.sum();
  const Eigen::Vector3d mean_s = source * w, mean_t = target * w;
  Eigen::Matrix3d covariance = Eigen::Matrix3d::Zero();  // sum_l w_l (t_l - mean_t)(s_l - mean_s)'
  for (Eigen::Index l = 0; l < source.cols(); ++l)
    covariance += w[l] * (target.col(l) - mean_t) * (source.col(l) - mean_s).transpose();
  const Eigen::JacobiSVD<Eigen::Matrix3d> svd(covariance, Eigen::ComputeFullU | Eigen::ComputeFullV);
  const double det = (svd.matrixU() * svd.matrixV().transpose()).determinant();
  const Eigen::Vector3d sign(1.0, 1.0, det > 0 ? 1.0 : det < 0 ? -1.0 : 0.0);  // np.sign
  return svd.matrixU() * sign.asDiagonal() * svd.matrixV().transpose();
}

}  // namespace stylemm
