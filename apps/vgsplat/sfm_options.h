// SfM options shared by `vgsplat sfm` and `vgsplat run` (defined in cmd_sfm.cc).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "pipeline/sfm_pipeline.h"

namespace vg::app {

struct SfmCliOptions {
  SfmOptions sfm;
  std::string matcher = "exhaustive";
  std::string jpeg_decode = "colmap";  // colmap | accurate (SfmOptions::jpeg_decode)
  std::string pairs_file;
  std::string camera_mode;     // auto (empty) | per-image | single (SfmOptions::camera_mode)
  bool single_camera = false;  // --single-camera: the older spelling of --camera-mode single
};

void add_sfm_options(CLI::App* cmd, SfmCliOptions& o);
// Checks the options and resolves the matcher; vg::Error for inconsistent ones.
void finish_sfm_options(SfmCliOptions& o);
void print_sfm_summary(const SfmStats& s);

}  // namespace vg::app
