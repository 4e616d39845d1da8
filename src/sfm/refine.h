// Refinement of known (approximate) cameras from feature tracks: COLMAP's point_triangulator followed by
// bundle_adjuster in one step, made robust to noisy initial poses. Points are triangulated from the initial
// poses (or placed from per-keypoint depth when given, as VGGT's unprojected depth in demo_colmap.py --use_ba),
// then IterativeGlobalRefinement (retriangulate, bundle adjustment, filter by reprojection error and
// triangulation angle, repeat until few observations change) runs under a reprojection threshold that starts
// wide enough for the initial pose error (measured from the residuals of the first triangulation) and halves
// down to the final one; the wide stages use a Cauchy loss at the threshold, the last one COLMAP's default
// (trivial) loss, and is run again on points triangulated anew from the refined cameras (COLMAP's
// point_triangulator + bundle_adjuster on them: no point left where the wide stages put it). Images observing
// too few points keep their initial pose (or are registered against the refined points by P3P RANSAC) and are
// reported, instead of failing the whole refinement.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/device.h"
#include "io/colmap.h"
#include "sfm/bundle_adjustment.h"
#include "sfm/mapper.h"

namespace vg {

struct RefineInput {
  MapperInput input;                 // cameras (initial intrinsics), images (keypoints, colours), verified pairs
  std::vector<Eigen::Matrix3d> R;    // [image] initial cam_from_world rotation
  std::vector<Eigen::Vector3d> t;    // [image] initial cam_from_world translation
  // Optional [image][keypoint] depth (camera z, same units as t) where known; <= 0 or NaN: unknown. When a
  // track has depth at one of its observations, its point starts there (the median over its observations'
  // unprojected depths) instead of being triangulated.
  std::vector<std::vector<float>> keypoint_depth;
};

struct RefineOptions {
  double max_reproj_error = 4.0;          // final filter (COLMAP's filter_max_reproj_error); P3 uses 8
  double initial_max_reproj_error = 0;    // first stage's threshold; 0: measured from the initial residuals
  double min_tri_angle_deg = 1.5;         // triangulation and filtering (COLMAP's defaults)
  bool ignore_two_view_tracks = true;     // COLMAP's tri_ignore_two_view_tracks (its default: on)
  // Before every stage but the first, each image's pose is checked against a fresh absolute pose (P3P RANSAC on
  // the points other images see, at the stage's threshold) and moved when that fits clearly more of them: a camera
  // can settle in a wrong basin with the few points that follow it (fox, 1 GPU run in 7: two images 4-5 deg off).
  bool relocalize_images = true;
  int max_refinements = 5;                // rounds of the final stage (IterativeGlobalRefinement)
  // After the final stage (when wide ones came before), every point deleted and triangulated anew from the refined
  // cameras at the final thresholds, then the final stage again: a point made and adjusted while the poses (and the
  // fixed intrinsics) were still off can stay at a compromise between its track's right and wrong observations,
  // all within the final threshold, so the final filter keeps it (Herz-Jesus: 51 observations at ~2 px that P1's
  // model does not have, 0.0227 -> 0.0199 deg; triangulated anew before the final stage, with the intrinsics not
  // yet refined, it lost observations at the image borders: 0.0269 deg).
  bool final_retriangulation = true;
  int wide_stage_rounds = 1;              // rounds of each wide stage
  // Focal lengths refined in the wide stages too (principal point and distortion stay fixed until the final one):
  // with the focal held 7-8 % off, the wide stages bent the poses to fit it and fox's end cameras were left in a
  // wrong basin in 1 of 10 GPU runs (0.097 deg mean); freed, 10 of 10 converged and Herz-Jesus gained 15 %.
  bool wide_stage_focal = true;
  double max_refinement_change = 0.0005;  // stop a stage when this share of observations changed
  int ba_max_iterations = 100;            // COLMAP's BundleAdjustmentOptions default (solver max_num_iterations)
  double ba_function_tolerance = 1e-6;
  double ba_gradient_tolerance = 1e-10;
  bool refine_focal = true, refine_principal_point = false, refine_extra_params = true;  // COLMAP's defaults
  bool refine_poses = true;               // false: points (and intrinsics, when asked) only
  int min_image_observations = 20;        // an image with fewer is not refined (kept / registered afterwards)
  int min_tracks = 100;                   // fewer surviving tracks: cameras left as given, result partial
  bool register_weak_images = true;       // try P3P registration of the weak images against the refined points
  uint64_t seed = 0;
  Device device = Device::cpu();
  std::function<void(const std::string&)> log;  // one line per stage (may be empty)
  // After each stage: stages done, the expected total so far (it shrinks when stages are skipped), a status field.
  std::function<void(int, int, const std::string&)> progress;
  // Sees every bundle-adjustment problem before it is solved (stage index, problem, options): dumps, benchmarks.
  std::function<void(int, const ColmapModel&, const BundleOptions&)> on_ba_problem;
};

struct RefineIteration {
  std::string stage;  // "threshold 32.0 px", ...
  double threshold_px = 0;
  double initial_cost = 0, final_cost = 0;
  int ba_iterations = 0;
  std::string termination;
  int points = 0;
  int64_t observations = 0;
  int filtered_observations = 0;
  double mean_reproj_error = 0;
  double seconds = 0;     // the whole stage (retriangulation, filtering, BA)
  double ba_seconds = 0;        // the bundle adjustments, model conversions included
  double ba_solver_seconds = 0;  // of which inside the solver (bundle_adjust)
  double ba_setup_seconds = 0;   // of which its set-up (problem, uploads, first linearisation)
  int rounds = 0;               // retriangulate + BA + filter rounds
  double triangulation_seconds = 0, filter_seconds = 0;
};

struct RefineImageReport {
  std::string name;
  std::string status;             // "refined", "registered" (P3P against the refined points), "initial"
  int observations = 0;
  double rotation_change_deg = 0;  // refined vs initial pose after a similarity alignment of all centres
  double center_change = 0;        // in units of the scene size (initial centres' bounding-box diagonal)
};

struct RefineReport {
  int tracks_total = 0;        // tracks of >= 2 features in the match graph
  int tracks_initial = 0;      // points made in the first triangulation (or from depth)
  int tracks_from_depth = 0;   // of those, placed from depth
  int tracks_kept = 0;         // points in the final model
  int tracks_dropped = 0;      // tracks_total - tracks_kept
  int64_t observations = 0;
  double initial_mean_reproj_error = 0;  // over the first points' observations, before any adjustment
  double final_mean_reproj_error = 0;
  double initial_threshold_px = 0;
  std::vector<RefineIteration> iterations;
  std::vector<RefineImageReport> images;  // input order
  std::vector<std::string> relocalized;  // "<image> before <stage>: <support> -> <inliers> of <correspondences>"
  std::vector<std::pair<std::string, double>> seconds;  // triangulation, refinement, registration
  double scene_size = 0;
  bool partial = false;
  std::string message;
};

struct RefineResult {
  ColmapModel model;  // every input image (id = index + 1): refined, registered or at its initial pose
  RefineReport report;
};

// Throws vg::Error on inconsistent input (sizes, non-finite poses, cameras missing).
RefineResult refine_model(const RefineInput& in, const RefineOptions& opt);

}  // namespace vg
