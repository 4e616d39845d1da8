// Pipeline P3's reconstruction (`vgsplat vggt --ba`, the first stage of `run P3|P5`): demo_colmap.py --use_ba
// with a track source that needs no extra network. VGGT (the CUDA engine on a GPU) gives cameras and depth;
// the feed-forward model (P2's export) is kept in <out>/feedforward/; its cameras (SIMPLE_PINHOLE per image by
// default, as the original's camera_type, or one shared camera) seed the refine stage (pipeline/refine_pipeline.h)
// with SIFT tracks whose points start from VGGT's depth; filtering at 8 px as the original's max_reproj_error,
// then iterative bundle adjustment. The network's memory is released before the refinement starts. The result is
// at the photos' resolution: <out>/sparse/0, points.ply, refine_report.json.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/refine_pipeline.h"
#include "vggt/export.h"

namespace vg {

struct VggtBaOptions {
  vggt::VggtRunOptions vggt;
  RefineRunOptions refine;  // P3 defaults: see p3_refine_defaults
  std::string tracks = "sift";  // track source: sift (the learned tracker is "vggsfm", not built yet)
  bool depth_points = true;     // points start from VGGT's depth (the original); false: triangulated
};

// The original's defaults for the refine stage of P3: SIMPLE_PINHOLE cameras, one per image, 8 px final filter.
void p3_refine_defaults(RefineRunOptions& r);

struct VggtBaStats {
  vggt::VggtRunStats vggt;
  RefineRunStats refine;
  double total_seconds = 0;
  std::string message;
  std::string seed_note;  // set when some of VGGT's cameras were unusable seeds and were replaced
};

VggtBaStats run_vggt_ba(const std::filesystem::path& scene_dir, const std::filesystem::path& out_dir,
                        const VggtBaOptions& opt);
nlohmann::json vggt_ba_stats_json(const VggtBaStats& s);

}  // namespace vg
