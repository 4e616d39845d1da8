// Refine options shared by `vgsplat refine`, `vgsplat vggt --ba` and `vgsplat run P3|P5` (cmd_refine.cc).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "pipeline/refine_pipeline.h"
#include "pipeline/vggt_ba.h"

namespace vg::app {

struct RefineCliOptions {
  RefineRunOptions run;
  std::string jpeg_decode = "colmap";
};

// The refine flags (cameras, thresholds, pairs, SIFT); --device, --txt and --out belong to each command.
void add_refine_options(CLI::App* cmd, RefineCliOptions& o);
void finish_refine_options(RefineCliOptions& o);  // vg::Error for inconsistent values
void print_refine_summary(const RefineRunStats& s);
// P3's flags, named as demo_colmap.py's (for `vggt --ba` and `run P3|P5`): --tracks, --shared-camera,
// --camera-type, --max-reproj-error, --dump-ba, and the vggsfm tracker's --tracker-weights, --query-frame-num,
// --max-query-pts, --vis-thresh, --no-fine-tracking. `ba.refine` should hold p3_refine_defaults.
void add_p3_options(CLI::App* cmd, VggtBaOptions& ba);

}  // namespace vg::app
