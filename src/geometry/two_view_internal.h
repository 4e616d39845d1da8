// Internal helpers shared by the two-view solvers (not part of the public contract).
#pragma once
#include <vector>

#include <Eigen/Core>

namespace vg {

// Hartley normalisation (centroid at 0, mean distance sqrt(2)); returns T with xn = T x.
Eigen::Matrix3d normalize_points(const std::vector<Eigen::Vector2d>& x, std::vector<Eigen::Vector2d>* xn);
// Real roots of a t^3 + b t^2 + c t + d (handles a = 0).
std::vector<double> solve_cubic_real(double a, double b, double c, double d);
// Squared Sampson distance of (x1, x2) to x2^T F x1 = 0 (F or E).
double sampson_error_sq(const Eigen::Matrix3d& F, const Eigen::Vector2d& x1, const Eigen::Vector2d& x2);
// Squared transfer error |x2 - h(H x1)|^2 (infinite where H x1 is at infinity).
double homography_error_sq(const Eigen::Matrix3d& H, const Eigen::Vector2d& x1, const Eigen::Vector2d& x2);

struct HomographyPose {
  Eigen::Matrix3d R;
  Eigen::Vector3d t;       // scaled by 1/d (plane distance); zero for a pure rotation
  Eigen::Vector3d normal;  // plane normal in camera 1
};
// Decomposition of a calibrated homography Hn = K2^-1 H K1 ~ R + t n^T (Ma, Soatto, Kosecka & Sastry,
// "An Invitation to 3-D Vision", sec. 5.3.3): four candidates, or one (t = 0) for a pure rotation.
// Hn's sign must make x2^T Hn x1 > 0 for points in front of both cameras (pose_from_homography fixes it).
std::vector<HomographyPose> decompose_homography(const Eigen::Matrix3d& Hn);
// The candidate with most points in front of both cameras (normalised coordinates); returns that count.
int pose_from_homography(const Eigen::Matrix3d& Hn, const std::vector<Eigen::Vector2d>& x1n,
                         const std::vector<Eigen::Vector2d>& x2n, Eigen::Matrix3d* R, Eigen::Vector3d* t);

}  // namespace vg
