// Similarity transforms (scale, rotation, translation): Umeyama's closed-form alignment (1991), used to
// compare reconstructions with ground truth and to normalise worlds.
#pragma once
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

namespace vg {

struct Sim3 {
  double scale = 1;
  Eigen::Matrix3d R = Eigen::Matrix3d::Identity();
  Eigen::Vector3d t = Eigen::Vector3d::Zero();
  Eigen::Vector3d apply(const Eigen::Vector3d& x) const { return scale * (R * x) + t; }
  Eigen::Matrix4d matrix() const;
  Sim3 inverse() const;
};

// dst ~ s R src + t in the least-squares sense; needs >= 3 non-collinear points.
Sim3 umeyama(const std::vector<Eigen::Vector3d>& src, const std::vector<Eigen::Vector3d>& dst, bool with_scale = true);

// Errors of estimated cameras against ground truth after a similarity alignment: centre errors (ground-truth
// units) after Umeyama on the centres; rotation errors (degrees) after the best common rotation (the chordal
// mean of the per-camera rotation offsets).
struct PoseErrors {
  std::vector<double> rotation_deg, center;
  double mean_rotation_deg = 0, mean_center = 0, max_rotation_deg = 0, max_center = 0;
};
// cam_from_world 4x4 matrices, one per camera, same order in both.
PoseErrors compare_poses(const std::vector<Eigen::Matrix4d>& estimated, const std::vector<Eigen::Matrix4d>& truth);

}  // namespace vg
