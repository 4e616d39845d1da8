// Synthetic bundle-adjustment problems for tests and benchmarks: random points in a cube seen by cameras
// on a ring looking at the centre, pixel noise and injected outliers, and a perturbation of the truth.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include <Eigen/Core>

#include "io/colmap.h"

namespace vg {

struct BaSceneOptions {
  int num_images = 10;
  int num_points = 200;
  std::string camera_model = "PINHOLE";
  bool shared_camera = false;    // one camera for every image, else one per image
  double noise_px = 0.5;         // Gaussian pixel noise (sigma)
  double outlier_fraction = 0;   // observations moved by 20..60 px
  double visibility = 1;         // probability that a camera observes a point (each point keeps >= 2 views)
  uint32_t seed = 1;
};

// Ground truth with observations (xys) that are the noisy projections of the true points.
ColmapModel make_ba_scene(const BaSceneOptions& opt);

// The same model with poses rotated by ~rot_deg and shifted by ~trans, points moved by ~point_sigma and
// focal lengths scaled by (1 + focal_rel) (random signs); the observations are unchanged.
ColmapModel perturb_ba_scene(const ColmapModel& truth, double rot_deg, double trans, double point_sigma,
                             double focal_rel, uint32_t seed);

// Unit quaternion (w, x, y, z) of a rotation matrix.
std::array<double, 4> rotation_to_quaternion(const Eigen::Matrix3d& R);

}  // namespace vg
