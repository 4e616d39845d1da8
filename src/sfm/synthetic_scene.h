// A COLMAP-style synthetic scene for SfM tests: random points in a ball (each with an outward normal that
// limits the views it is seen from), cameras on a ring around it looking at its centre, keypoints as noisy
// projections plus unmatched distractors, verified pairs whose inlier matches include wrong ones, and the
// ground truth as a ColmapModel. Several clusters give disjoint scenes (no match between clusters).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "io/colmap.h"
#include "sfm/mapper.h"

namespace vg {

struct SyntheticOptions {
  int num_images = 16;
  int num_points = 1500;
  int width = 640, height = 480;
  std::string camera_model = "PINHOLE";  // SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV
  double focal_factor = 0.8;             // true focal = focal_factor * max(width, height)
  double radial = 0;                     // true k (SIMPLE_RADIAL) / k1 (RADIAL, OPENCV)
  bool prior_focal = true;  // false: MapperInput cameras start from COLMAP's guess (1.2 max(W,H), no distortion)
  Eigen::Vector2d principal_point_offset{0, 0};  // true principal point - image centre (the input starts at the centre)
  bool shared_camera = false;                    // one camera (id 1) for all images, else camera i+1 for image i
  double noise_px = 0.5;    // Gaussian keypoint noise (sigma, pixels)
  double outlier_ratio = 0.2;     // fraction of every pair's matches that are wrong (one-to-one kept)
  double distractor_ratio = 0.1;  // unmatched keypoints per image, relative to its visible points
  double scene_radius = 1.0;      // points uniform in a ball of this radius
  double ring_radius = 3.0;       // camera centres on a ring of this radius (height jitter +-0.2 radius)
  double arc_deg = 360;           // cameras spread evenly over this arc of the ring
  double max_view_angle_deg = 80; // a point is seen only within this angle of its normal
  int min_pair_matches = 15;      // pairs with fewer common points are not listed
  int num_clusters = 1;           // disjoint copies of the scene, images and points split evenly
  uint64_t seed = 0;
};

struct SyntheticScene {
  MapperInput input;  // camera i+1 for image i; verified pairs (i < j)
  ColmapModel truth;  // true cameras, poses (image id = index + 1), points (id = index + 1) with tracks
  std::vector<int> cluster_of_image;
  double scene_size = 0;  // ring diameter: the scale for centre errors
};

SyntheticScene make_synthetic_scene(const SyntheticOptions& opt);

// Share of a model's observations (image id = index + 1) whose true point differs from their track's majority:
// wrong matches that survived into the reconstruction.
double wrong_observation_fraction(const ColmapModel& model, const SyntheticScene& s);

// Pixel of a camera-frame point (z > 0) for the models above; an independent oracle for tests.
Eigen::Vector2d synthetic_project(const ColmapCamera& cam, const Eigen::Vector3d& p_cam);

}  // namespace vg
