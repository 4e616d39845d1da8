// The refine stage (`vgsplat refine`, the second half of pipelines P3/P5): cameras refined from any initial
// poses, as COLMAP's point_triangulator + bundle_adjuster in one command. SIFT on the scene's photos, pairs
// from the initial poses' view overlap, descriptor matching, matches filtered by the initial epipolar geometry
// and verified by RANSAC (sfm/guided_matching.h), tracks, triangulation from the initial poses (or placement
// from given depth), iterative global refinement (sfm/refine.h). Writes <out>/sparse/0 (COLMAP), points.ply
// and refine_report.json. The scene is only read.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "features/matching.h"
#include "features/sift.h"
#include "io/colmap.h"
#include "io/image.h"
#include "sfm/guided_matching.h"
#include "sfm/refine.h"

namespace vg {

struct RefineRunOptions {
  SiftOptions sift;
  JpegDecode jpeg_decode = JpegDecode::kFast;
  MatchOptions match;
  OverlapOptions overlap;
  GuidedMatchOptions guided;
  RefineOptions refine;
  std::string camera_model;     // empty: the initial model's; else the cameras are converted to this model
  bool single_camera = false;   // one camera for all images (they must have one size)
  std::string device = "auto";  // auto | cpu | cuda[:N]: SIFT, matching and bundle adjustment
  int num_threads = 0;
  bool write_txt = false;
  bool progress = true;
  uint64_t seed = 0;
  bool average_rotations = true;  // rotations from the pairs' relative rotations before triangulating
  std::filesystem::path dump_ba;  // when set: the final stage's bundle-adjustment problem is written here
  double moved_rotation_deg = 1.0;  // the report lists cameras that moved more than this (after alignment)
  double moved_center = 0.02;       // ... or whose centre moved more than this share of the scene size
};

struct RefineRunStats {
  int images = 0;                // images of the initial model
  int refined = 0, registered = 0, kept_initial = 0;
  int64_t num_features = 0;
  int candidate_pairs = 0, ransac_pairs = 0, verified_pairs = 0;
  int pairs_prior_rejected = 0;            // verified by RANSAC, inliers off the initial epipolar lines: dropped
  double pair_error_tolerance_px = 0;      // the median epipolar distance of a pair's inliers that drops it (0: off)
  int pairs_rotation_off = 0;              // kept, relative rotation off the initial one: not used for rotations
  double epipolar_tolerance_px = 0;        // measured spread of the inliers around the initial epipolar lines
  double prior_rotation_tolerance_deg = 0, median_prior_rotation_diff_deg = 0;
  double moved_rotation_deg = 0, moved_center = 0;
  int rotation_pairs = 0;                                       // rotation averaging: pairs used,
  double rotation_residual_deg = 0, rotation_change_deg = 0;    // their median residual, the mean change
  int64_t matches = 0, matches_prior_rejected = 0, matches_verified = 0;
  std::vector<std::string> ignored;  // files of the images folder that the initial model does not name
  std::vector<std::string> notes;    // adjustments made to the input (rescaled cameras, converted models)
  RefineReport report;
  std::vector<std::pair<std::string, double>> seconds;  // features, pairs, matching, verification, refine, output
  double total_seconds = 0;
  std::string device;
  bool partial = false;
  std::string message;
  std::filesystem::path model_dir;  // <out>/sparse/0
};

// Depth (camera z) at a pixel of image `index` of the initial model's images in name order; NaN or <= 0 where
// unknown. P3 passes VGGT's depth maps through it.
using DepthLookup = std::function<float(int index, const Eigen::Vector2d& pixel)>;

// Refines `init` (cameras + posed images named as the files of the scene's images folder; points ignored except
// for the view depths) and writes the result into out_dir. Throws vg::Error on bad input: an image the model names
// that is missing, non-finite or degenerate cameras and poses, an output folder inside the scene.
RefineRunStats run_refine(const std::filesystem::path& scene_dir, const ColmapModel& init,
                          const std::filesystem::path& out_dir, const RefineRunOptions& opt,
                          const DepthLookup& depth = {});
nlohmann::json refine_stats_json(const RefineRunStats& s);

}  // namespace vg
