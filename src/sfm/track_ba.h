// Tracks with visibility and 3D points -> a COLMAP model -> bundle adjustment: demo_colmap.py --use_ba after
// predict_tracks (vggt/dependency/np_to_pycolmap.py batch_np_matrix_to_pycolmap, then
// pycolmap.bundle_adjustment with COLMAP's default BundleAdjustmentOptions). An observation is kept when its
// visibility > vis_thresh and the track's point, projected by the initial camera, lands within max_reproj_error;
// a track needs two kept observations; points with a coordinate >= max_point_value get none (as the original).
// Beyond the original: a frame with fewer than min_inlier_per_frame kept observations does not abort the whole
// reconstruction ("No reconstruction can be built with BA"): it stays at its initial pose, outside the
// adjustment, and is reported; points behind the initial camera are not counted as inliers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/colmap.h"
#include "sfm/bundle_adjustment.h"

namespace vg {

struct TrackBaOptions {
  float vis_thresh = 0.2f;                     // demo_colmap.py --vis_thresh
  double max_reproj_error = 8.0;               // --max_reproj_error
  double max_point_value = 3000;               // batch_np_matrix_to_pycolmap's max_points3D_val
  int min_inlier_per_frame = 64;               // ... min_inlier_per_frame
  bool shared_camera = false;                  // --shared_camera: one camera, frame 0's intrinsics
  std::string camera_type = "SIMPLE_PINHOLE";  // --camera_type: SIMPLE_PINHOLE | PINHOLE
  BundleOptions ba;                            // COLMAP's defaults: focal and extra refined, trivial loss
};

struct TrackBaResult {
  ColmapModel model;               // every frame: image i has id i + 1, named "image_<i+1>" (renamed later)
  int64_t tracks = 0, tracks_valid = 0, observations = 0;
  std::vector<int> weak_frames;    // frames left at their initial pose
  BundleSummary ba;
  double initial_mean_error = 0, final_mean_error = 0;  // pixels, over the kept observations
  bool adjusted = false;           // the bundle adjustment ran (>= 2 frames and some valid tracks)
  bool partial = false;
  std::string message;             // one line
};

// tracks [S,N,2] (x, y) and vis [S,N] at the resolution of `intrinsics` ([S,3,3]) and width x height;
// extrinsics [S,3,4] cam_from_world; xyz [N*3] each track's initial point; rgb [N*3] (may be empty).
TrackBaResult tracks_to_model_and_ba(const Tensor& tracks, const Tensor& vis, const std::vector<float>& xyz,
                                     const std::vector<uint8_t>& rgb, const Tensor& extrinsics,
                                     const Tensor& intrinsics, int64_t width, int64_t height,
                                     const TrackBaOptions& opt);

}  // namespace vg
