// Strecha et al. (CVPR 2008) multi-view benchmark ground truth: one "<image>.camera" text file per
// photo holding K (3 rows), a row of 3 radial distortion values, R (3 rows, camera -> world), the
// camera centre C (1 row) and "W H". World -> camera is (R^T, -R^T C).
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include <Eigen/Core>

namespace vg {

struct StrechaCamera {
  Eigen::Matrix3d K = Eigen::Matrix3d::Identity();
  Eigen::Vector3d distortion = Eigen::Vector3d::Zero();
  Eigen::Matrix3d R = Eigen::Matrix3d::Identity();  // camera -> world rotation
  Eigen::Vector3d center = Eigen::Vector3d::Zero();  // camera centre in the world
  int width = 0, height = 0;
  Eigen::Matrix4d cam_from_world() const;  // [R^T | -R^T C]
};

// Throws vg::Error naming the file for missing or non-numeric values.
StrechaCamera read_strecha_camera(const std::filesystem::path& path);
// Every "<image>.camera" file of a folder, keyed by the image name ("0000.jpg").
std::map<std::string, StrechaCamera> read_strecha_cameras(const std::filesystem::path& dir);

}  // namespace vg
