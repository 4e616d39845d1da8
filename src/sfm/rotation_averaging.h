// Rotation averaging (Hartley, Trumpf, Dai & Li, "Rotation Averaging", IJCV 2013): absolute camera rotations from
// the relative rotations of verified image pairs, by Gauss-Seidel sweeps of the weighted chordal L2 mean with
// Cauchy weights on the angular residuals, started from (and finally aligned to) initial rotations. Refining
// approximate cameras uses it to correct rotations that are degrees off before triangulating (the relative
// rotations of two-view geometry are good to a fraction of that).
#pragma once
#include <vector>

#include <Eigen/Core>

namespace vg {

struct RelativeRotation {
  int i = 0, j = 0;
  Eigen::Matrix3d R_ji = Eigen::Matrix3d::Identity();  // R_j = R_ji R_i (cam_from_world rotations)
  double weight = 1;                                    // e.g. the pair's inlier count
};

struct RotationAveragingOptions {
  int max_sweeps = 200;
  double cauchy_deg = 2.0;       // residual scale of the robust weights after the first sweeps
  double initial_cauchy_deg = 10;  // ... during the first sweeps (the start may be degrees off)
  double tolerance_deg = 1e-5;   // stop when no rotation moves more than this in a sweep
};

struct RotationAveragingReport {
  int sweeps = 0;
  double median_residual_deg = 0;  // over the pairs, at the end
  int images_connected = 0;        // images with at least one pair (the others keep their initial rotation)
};

// Rotations of `initial.size()` images; images without a pair keep their initial rotation. The result's global
// rotation is the one closest to the initial rotations (chordal).
std::vector<Eigen::Matrix3d> average_rotations(const std::vector<Eigen::Matrix3d>& initial,
                                               const std::vector<RelativeRotation>& pairs,
                                               const RotationAveragingOptions& opt = {},
                                               RotationAveragingReport* report = nullptr);

// Angle (degrees) of the rotation A B^T.
double rotation_angle_deg(const Eigen::Matrix3d& A, const Eigen::Matrix3d& B);

}  // namespace vg
