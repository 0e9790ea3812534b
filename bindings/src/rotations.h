// Rotation matrices <-> axis-angle (radians), in double, as runtime/stylemm_runtime/tracking/
// rotations.py and skinning.rodrigues compute them (the runtime's pose convention).
#pragma once

#include <Eigen/Core>

namespace stylemm {

// (3,) axis-angle -> rotation matrix (Rodrigues, with sin(a)/a and (1 - cos a)/a^2 as factors).
Eigen::Matrix3d rotation_exp(const Eigen::Vector3d& axis_angle);

// Rotation matrix -> axis-angle with the angle in [0, pi].
Eigen::Vector3d rotation_log(const Eigen::Matrix3d& rotation);

// The rotation R of the weighted similarity Procrustes (Umeyama) target ~ s R source + t of
// point sets (3, L); weights (L), not all zero. rotations.align's first result.
Eigen::Matrix3d procrustes_rotation(const Eigen::Ref<const Eigen::Matrix3Xd>& source,
                                    const Eigen::Ref<const Eigen::Matrix3Xd>& target,
                                    const Eigen::Ref<const Eigen::VectorXd>& weights);

}  // namespace stylemm
