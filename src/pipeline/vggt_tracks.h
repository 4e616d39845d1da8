// P3's refinement with the learned track source (`--tracks vggsfm`), demo_colmap.py --use_ba as it is: tracks
// predicted on the 1024-px square frames (tracks/predict_tracks.h), VGGT's intrinsics rescaled from 518 to
// 1024, the original's filtering and one bundle adjustment (sfm/track_ba.h), then renaming and rescaling to the
// photos' resolution. Writes <out>/sparse/0 (+ points.ply) and fills the same RefineRunStats as the SIFT path, so
// reports, analysis.json and the runner read both alike.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/refine_pipeline.h"
#include "sfm/track_ba.h"
#include "tracks/predict_tracks.h"
#include "tracks/track_models.h"
#include "vggt/export.h"

namespace vg {

struct VggsfmTrackOptions {
  std::string weights_dir;  // --tracker-weights; empty: $VGSPLAT_TRACKER_WEIGHTS
  tracks::PredictTracksOptions predict;
  tracks::TrackModelOptions models;
  TrackBaOptions ba;
};

// Throws before anything runs when the weights are missing or the resize mode is not square.
void check_vggsfm_inputs(const VggsfmTrackOptions& opt, const std::string& vggt_resize);

// p: VGGT's predictions with images_load (square mode; taken by value: invalid cameras are replaced in the copy,
// the tensors themselves are shared). load_size: the tracking frame (1024).
RefineRunStats refine_with_vggsfm_tracks(vggt::VggtPredictions p, int load_size,
                                         const std::filesystem::path& out_dir, const VggsfmTrackOptions& opt,
                                         bool write_txt, nlohmann::json& tracks_json);

}  // namespace vg
