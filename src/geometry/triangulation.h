// Triangulation (Hartley & Zisserman ch. 12): two-view and multi-view DLT in normalised coordinates,
// plus the angle and cheirality checks the mapper uses.
#pragma once
#include <vector>

#include <Eigen/Core>

namespace vg {

using Matrix34d = Eigen::Matrix<double, 3, 4>;

// cam_from_world projections; x are normalised image coordinates. Returns false if degenerate.
bool triangulate_point(const Matrix34d& P1, const Matrix34d& P2, const Eigen::Vector2d& x1, const Eigen::Vector2d& x2,
                       Eigen::Vector3d* X);
// Two calibrated views with cam2 = R cam1 + t: the midpoint of the rays' closest points (Hartley & Sturm 1997,
// sec. 5.3), in camera-1 coordinates; false for (near) parallel rays. A few times cheaper than the DLT's SVD, for
// the cheirality counts and angles of two-view geometry (the mapper's points keep the DLT).
bool triangulate_midpoint(const Eigen::Matrix3d& R, const Eigen::Vector3d& t, const Eigen::Vector2d& x1,
                          const Eigen::Vector2d& x2, Eigen::Vector3d* X);
bool triangulate_multiview(const std::vector<Matrix34d>& Ps, const std::vector<Eigen::Vector2d>& xs, Eigen::Vector3d* X);
// Angle (radians) between the rays from the two centres to X.
double triangulation_angle(const Eigen::Vector3d& center1, const Eigen::Vector3d& center2, const Eigen::Vector3d& X);
// X in front of the camera (positive depth).
bool has_positive_depth(const Matrix34d& P, const Eigen::Vector3d& X);

}  // namespace vg
