// Pipeline P3's reconstruction (`vgsplat vggt --ba`, the first stage of `run P3|P5`): demo_colmap.py --use_ba
// with a track source that needs no extra network. VGGT (the CUDA engine on a GPU) gives cameras and depth;
// the feed-forward model (P2's export) is kept in <out>/feedforward/. Two track sources: `sift` (default): its
// cameras (SIMPLE_PINHOLE per image by default, as the original's camera_type, or one shared camera) seed the
// refine stage (pipeline/refine_pipeline.h) with SIFT tracks whose points start from VGGT's depth; filtering at
// 8 px as the original's max_reproj_error, then iterative bundle adjustment. `vggsfm`: the original's learned
// tracker and its single bundle adjustment (pipeline/vggt_tracks.h). The network's memory is released before the refinement starts. The result is
// at the photos' resolution: <out>/sparse/0, points.ply, refine_report.json.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include <nlohmann/json.hpp>

#include "pipeline/refine_pipeline.h"
#include "pipeline/vggt_tracks.h"
#include "vggt/export.h"

namespace vg {

struct VggtBaOptions {
  vggt::VggtRunOptions vggt;
  RefineRunOptions refine;  // P3 defaults: see p3_refine_defaults
  std::string tracks = "sift";  // track source: sift (guided matching + refine) | vggsfm (the original's tracker)
  bool depth_points = true;     // points start from VGGT's depth (the original); false: triangulated
  VggsfmTrackOptions vggsfm;    // --tracks vggsfm: weights, query frames / points, fine tracking, vis threshold
};

// The original's defaults for the refine stage of P3: SIMPLE_PINHOLE cameras, one per image, 8 px final filter.
void p3_refine_defaults(RefineRunOptions& r);

struct VggtBaStats {
  vggt::VggtRunStats vggt;
  RefineRunStats refine;
  double total_seconds = 0;
  std::string message;
  std::string seed_note;  // set when some of VGGT's cameras were unusable seeds and were replaced
  nlohmann::json tracks;  // --tracks vggsfm: query frames, keypoints per round, tracks, weak frames
};

// Depth (camera z) of frame `index` at a pixel of the original photo (COLMAP convention: the top-left pixel's
// centre is (0.5, 0.5)), bilinear in VGGT's depth map, NaN outside it (the cropped part, the border half-pixel).
class VggtDepth {
 public:
  // load_size: the frame of original_coords in square mode (VggtRunOptions::load_size); unused in crop mode.
  VggtDepth(const vggt::VggtPredictions& p, int load_size);
  float operator()(int index, const Eigen::Vector2d& px) const;
  // Where px lands in the depth map, in pixel indices (centre of pixel (0, 0) = (0, 0)).
  // square: u = (x * (x2 - x1) / width + x1) * W / load_size - 0.5 (the photo centred on the load square, then
  // resized to the model size); crop: u = x * (x2 - x1) / width + x1 - 0.5, v likewise with y1, y2, height.
  Eigen::Vector2d model_pixel(int index, const Eigen::Vector2d& px) const;

 private:
  std::vector<float> depth_, coords_;
  int load_;
  bool crop_;
  int64_t S_, H_, W_;
};

VggtBaStats run_vggt_ba(const std::filesystem::path& scene_dir, const std::filesystem::path& out_dir,
                        const VggtBaOptions& opt);
nlohmann::json vggt_ba_stats_json(const VggtBaStats& s);

}  // namespace vg
