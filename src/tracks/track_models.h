// The four networks of `--tracks vggsfm` loaded from their published files and wrapped as TrackModels for
// predict_tracks: DINOv2 ranking, ALIKED + SuperPoint query points (max_query_pts each, threshold 0.005), the
// final trial's SuperPoint + SIFT + ALIKED at 2048 points (SIFT: vgsplat's own in place of LightGlue's), and the
// VGGSfM tracker with fine tracking.
#pragma once
#include <string>

#include "core/device.h"
#include "tracks/predict_tracks.h"
#include "tracks/tracker_weights.h"

namespace vg::tracks {

struct TrackModelOptions {
  int max_query_pts = 4096;        // demo_colmap.py --max_query_pts
  float detection_threshold = 0.005f;
  int final_max_query_pts = 2048;  // _augment_non_visible_frames' final trial
  bool fine_tracking = true;       // demo_colmap.py --fine_tracking
  Device device = Device::cpu();   // CUDA: the CUDA engine of all four networks (the CPU one is the fp32 reference)
  std::string precision = "auto";  // CUDA GEMM precision: auto (bf16 on sm_80+ as demo_colmap's autocast) | fp32 | ...
};

TrackModels load_track_models(const TrackerWeightPaths& paths, const TrackModelOptions& opt);

}  // namespace vg::tracks
