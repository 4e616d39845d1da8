// Two-view geometry (COLMAP src/colmap/estimators/two_view_geometry.h semantics): RANSAC (LO-MSAC) for
// the essential matrix (5-point, Nister 2004), fundamental matrix (7/8-point) and homography (4-point DLT);
// the configuration (calibrated / uncalibrated / planar / panoramic) and the relative pose.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "io/colmap.h"

namespace vg {

using FeatureMatches = std::vector<std::pair<int, int>>;  // (index in image 1, index in image 2)

struct RansacOptions {
  double max_error = 4.0;        // pixels
  double confidence = 0.999;
  int min_num_trials = 100;
  int max_num_trials = 10000;
  double min_inlier_ratio = 0.25;
  uint64_t seed = 0;
};

struct TwoViewOptions {
  RansacOptions ransac;
  int min_num_inliers = 15;
  double max_H_inlier_ratio = 0.8;  // COLMAP's planar/panoramic decision
  double watermark_min_inlier_ratio = 0.7;
  bool compute_relative_pose = true;
  double min_E_F_inlier_ratio = 0.95;  // COLMAP: E is kept over F when it explains this share of F's inliers
  bool detect_watermark = true;        // simplified check, see two_view.cc
  double watermark_border_size = 0.1;  // fraction of the image size forming the border band
};

struct TwoViewGeometry {
  enum Config { UNDEFINED = 0, DEGENERATE = 1, CALIBRATED = 2, UNCALIBRATED = 3, PLANAR = 4, PANORAMIC = 5,
                PLANAR_OR_PANORAMIC = 6, WATERMARK = 7, MULTIPLE = 8 };
  int config = UNDEFINED;
  Eigen::Matrix3d E = Eigen::Matrix3d::Zero(), F = Eigen::Matrix3d::Zero(), H = Eigen::Matrix3d::Zero();
  Eigen::Quaterniond cam2_from_cam1_q = Eigen::Quaterniond::Identity();
  Eigen::Vector3d cam2_from_cam1_t = Eigen::Vector3d::Zero();  // unit length when estimated
  FeatureMatches inlier_matches;
  double tri_angle = 0;  // median triangulation angle of the inliers (radians)
};

// cam1/cam2 with a focal length that is known (prior) or guessed; `has_prior_focal` chooses E vs F first
// as COLMAP's EstimateCalibratedTwoViewGeometry / EstimateUncalibratedTwoViewGeometry.
TwoViewGeometry estimate_two_view_geometry(const ColmapCamera& cam1, const std::vector<Eigen::Vector2d>& points1,
                                           const ColmapCamera& cam2, const std::vector<Eigen::Vector2d>& points2,
                                           const FeatureMatches& matches, bool has_prior_focal,
                                           const TwoViewOptions& opt);
// The same, with every keypoint's normalised (undistorted) coordinates given: camera_unproject of points1 / points2,
// computed once per image by a caller that verifies many pairs instead of once per pair and match.
TwoViewGeometry estimate_two_view_geometry(const ColmapCamera& cam1, const std::vector<Eigen::Vector2d>& points1,
                                           const std::vector<Eigen::Vector2d>& normalized1, const ColmapCamera& cam2,
                                           const std::vector<Eigen::Vector2d>& points2,
                                           const std::vector<Eigen::Vector2d>& normalized2,
                                           const FeatureMatches& matches, bool has_prior_focal,
                                           const TwoViewOptions& opt);

// Minimal / linear solvers (normalised coordinates for E, pixels for F and H). Exposed for tests.
std::vector<Eigen::Matrix3d> essential_5pt(const std::vector<Eigen::Vector2d>& x1, const std::vector<Eigen::Vector2d>& x2);
std::vector<Eigen::Matrix3d> fundamental_7pt(const std::vector<Eigen::Vector2d>& x1, const std::vector<Eigen::Vector2d>& x2);
Eigen::Matrix3d fundamental_8pt(const std::vector<Eigen::Vector2d>& x1, const std::vector<Eigen::Vector2d>& x2);
Eigen::Matrix3d homography_dlt(const std::vector<Eigen::Vector2d>& x1, const std::vector<Eigen::Vector2d>& x2);
// Relative pose from E with the cheirality check on normalised correspondences; returns the number in front.
int pose_from_essential(const Eigen::Matrix3d& E, const std::vector<Eigen::Vector2d>& x1n,
                        const std::vector<Eigen::Vector2d>& x2n, Eigen::Matrix3d* R, Eigen::Vector3d* t);

}  // namespace vg
