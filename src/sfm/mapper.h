// Incremental Structure-from-Motion (Schoenberger & Frahm, CVPR 2016; COLMAP's IncrementalMapper):
// initial pair, next-best-view registration (P3P RANSAC), multi-view triangulation, local/global BA,
// retriangulation and outlier filtering; several models when the scene splits.
#pragma once
#include <array>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "core/device.h"
#include "geometry/two_view.h"
#include "io/colmap.h"
#include "sfm/bundle_adjustment.h"

namespace vg {

struct MapperImage {
  std::string name;
  uint32_t camera_id = 0;                  // key into MapperInput::cameras
  std::vector<Eigen::Vector2d> keypoints;  // pixels
  std::vector<std::array<uint8_t, 3>> colors;  // per keypoint (for points3D colours); may be empty
};

struct MapperInput {
  std::map<uint32_t, ColmapCamera> cameras;  // initial intrinsics (guessed or known)
  std::map<uint32_t, bool> camera_has_prior_focal;
  std::vector<MapperImage> images;           // image index = position here; COLMAP image id = index + 1
  std::map<std::pair<int, int>, TwoViewGeometry> pairs;  // verified pairs (i < j)
};

struct MapperOptions {
  int init_min_num_inliers = 100;
  double init_max_error = 4.0;
  double init_min_tri_angle_deg = 16.0;
  double min_tri_angle_deg = 1.5;
  double filter_max_reproj_error = 4.0;
  double filter_min_tri_angle_deg = 1.5;
  // COLMAP's Mapper.tri_ignore_two_view_tracks: a track seen by only two images in the whole match graph
  // is not triangulated (except between the initial pair): weakly constrained points add noise, not accuracy.
  bool ignore_two_view_tracks = true;
  int abs_pose_min_num_inliers = 30;
  double abs_pose_max_error = 12.0;
  bool refine_focal = true, refine_principal_point = false, refine_extra_params = true;
  int local_ba_num_images = 6;
  double ba_global_images_ratio = 1.1, ba_global_points_ratio = 1.1;
  // After the final global refinement, the points are triangulated anew from the final cameras and the final
  // refinement runs again (as vgsplat refine's final re-triangulation). Off: on the Strecha scenes it helped as
  // often as it hurt (fountain gt 0.0651 -> 0.0532 deg, Herz-Jesus gt 0.0197 -> 0.0222 deg; BENCHMARKS.md).
  bool final_retriangulation = false;
  // Before the final refinement, the registered members of a track that its point left out become a track of their
  // own and are triangulated (COLMAP's points are per correspondence set, not per union-find track).
  bool split_tracks = false;
  // After the final refinement, when every camera is shared by at least this many registered images and the
  // points are seen in 3 images on average, the principal points are refined too and the refinement runs again
  // (0: never, as COLMAP's defaults). A centre is
  // kept only within principal_point_max_offset x max(W, H) of the image centre, else the model before is
  // restored. Real lenses sit some pixels off centre (Strecha 8 px, fox 7 px) and a fixed centre costs ~0.1-0.2
  // deg; one camera seen from 8+ images pins it down (auto set-up: Herz-Jesus 0.070 -> 0.024 deg, fountain 0.182
  // -> 0.052, fox 0.183 -> 0.157; lego, centred, unchanged; BENCHMARKS.md).
  int final_principal_point_min_images = 8;
  double principal_point_max_offset = 0.05;
  int min_model_size = 3;
  // A model with fewer than min(images, keep_model_size) registered images is set aside and its images stay free
  // for later initial pairs (COLMAP's Mapper.min_model_size, 10); it is output only when no model reaches that.
  int keep_model_size = 10;
  bool multiple_models = true;
  uint64_t seed = 0;
  Device device = Device::cpu();
};

struct MapperResult {
  std::vector<ColmapModel> models;  // largest first; image ids = input index + 1
  std::vector<std::string> log;     // one line per event (registration failures, model splits, ...)
};

// progress(registered, total) is called after each registration when given.
MapperResult incremental_mapping(const MapperInput& in, const MapperOptions& opt,
                                 const std::function<void(int, int)>& progress = {});

}  // namespace vg
