// Absolute pose (camera registration): P3P (Lambda Twist, Persson & Nordberg 2018) in RANSAC, with optional
// focal-length estimation (P4Pf or a focal sweep), then non-linear refinement of the pose (and focal) on the
// inliers — COLMAP's EstimateAbsolutePose + RefineAbsolutePose semantics.
#pragma once
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "geometry/two_view.h"
#include "io/colmap.h"

namespace vg {

struct AbsolutePoseOptions {
  RansacOptions ransac{12.0, 0.99999, 100, 10000, 0.1, 0};  // COLMAP abs_pose_max_error = 12 px
  int min_num_inliers = 30;
  bool estimate_focal = false;  // camera focal unknown: estimate it (then refine)
  bool refine_focal = false;
};

struct AbsolutePoseResult {
  bool success = false;
  Eigen::Quaterniond cam_from_world_q = Eigen::Quaterniond::Identity();
  Eigen::Vector3d cam_from_world_t = Eigen::Vector3d::Zero();
  std::vector<char> inlier_mask;
  int num_inliers = 0;
  double focal = 0;  // estimated/refined focal when asked, else the camera's
};

AbsolutePoseResult estimate_absolute_pose(const ColmapCamera& cam, const std::vector<Eigen::Vector2d>& points2d,
                                          const std::vector<Eigen::Vector3d>& points3d,
                                          const AbsolutePoseOptions& opt);

// Minimal solver on bearing vectors (unit rays) and 3 world points: up to 4 poses (R, t) with x ~ R X + t.
std::vector<std::pair<Eigen::Matrix3d, Eigen::Vector3d>> p3p(const Eigen::Vector3d bearings[3],
                                                              const Eigen::Vector3d points[3]);

}  // namespace vg
