#include "apps/vgsplat/appearance_options.h"

namespace vg::app {

void add_post_processing_options(CLI::App* cmd, TrainConfig& c) {
  cmd->add_option("--post-processing", c.post_processing,
                  "Appearance correction of the training renders for photos with changing exposure: none, or "
                  "bilateral_grid (gsplat: a per-image bilateral grid of affine colour maps over x, y and luma, + 10 x "
                  "its total variation; evaluation renders stay raw)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "bilateral_grid"}));
  cmd->add_option("--bilateral-grid-shape", c.bilateral_grid_shape,
                  "Bilateral grid cells X,Y,W (x, y, luma bins)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--bilateral-grid-lr", c.bilateral_grid_lr, "Adam learning rate of the bilateral grids")
      ->capture_default_str();
  cmd->add_option("--bilateral-grid-warmup", c.bilateral_grid_warmup,
                  "Steps of the grids' linear learning-rate warm-up from 1%")
      ->capture_default_str();
}

}  // namespace vg::app
