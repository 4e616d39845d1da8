// The appearance post-processing flags shared by `vgsplat train` and `vgsplat run` (appearance_options.cc).
#pragma once
#include <CLI/CLI.hpp>

#include "splat/train_config.h"

namespace vg::app {

// --post-processing none|bilateral_grid, --bilateral-grid-shape X,Y,W, --bilateral-grid-lr, --bilateral-grid-warmup.
void add_post_processing_options(CLI::App* cmd, TrainConfig& c);

}  // namespace vg::app
