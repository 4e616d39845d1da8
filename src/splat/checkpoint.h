// Training checkpoints: one safetensors file (ckpts/ckpt_<step>.safetensors) holding every parameter
// group, both Adam moments of each group, the densification statistics, and in the metadata the step,
// the Adam step counts, the scene scale, the strategy's random-number state, the run id and the
// training config as JSON. Written atomically.
#pragma once
#include <filesystem>
#include <string>

#include "splat/adam.h"
#include "splat/gaussians.h"
#include "splat/strategy.h"

namespace vg {

struct Checkpoint {
  int step = 0;                        // 0-based step after which it was saved
  Gaussians gaussians;                 // CPU tensors after load
  AdamState adam[Gaussians::kGroups];  // moments per group (may be undefined: saved without optimiser)
  StrategyState strategy;              // grad2d / count (may be undefined)
  float scene_scale = 1.0f;
  std::string config_json;             // TrainConfig::to_json()
  std::string strategy_rng;            // std::mt19937_64 state as text (empty in older checkpoints)
  std::string run_id;                  // the training run that wrote it (train_resume.h; may be empty)
  Tensor pose_adjust;                  // [n_train, 9] pose optimisation residuals (undefined: none)
  AdamState pose_adam;                 // their Adam moments and step count
  Tensor bilateral_grids;              // [n_train, 12, L, H, W] --post-processing bilateral_grid (undefined: none)
  AdamState bilateral_grid_adam;       // their Adam moments and step count
};

// Tensors on any device are copied to the host for writing.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& ckpt);
// Throws vg::Error naming the file when it is missing, truncated or not a vgsplat checkpoint.
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace vg
