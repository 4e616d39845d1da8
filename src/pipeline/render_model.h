// `vgsplat render`: a trained model (3DGS PLY in world coordinates, or a training checkpoint in the
// normalised frame) rendered at a dataset's cameras (test, train or all) or along a trajectory
// (interp / ellipse / spiral, as the trainer's video) into PNGs (rgb/, depth/, alpha/) and, with
// `video`, an MP4 of RGB | depth frames.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include "io/dataset.h"
#include "splat/gaussians.h"
#include "splat/train_config.h"

namespace vg {

struct RenderOptions {
  std::filesystem::path model;     // .ply (INRIA 3DGS) or ckpt_<step>.safetensors
  std::filesystem::path data_dir;  // the dataset the model was trained on (cameras, normalisation)
  std::optional<int> data_factor;  // default: the checkpoint's, else gsplat's 4
  std::string split = "test";      // test | train | all (ignored with traj)
  std::string traj;                // "" or interp | ellipse | spiral
  bool video = false;              // also an MP4 (30 fps, RGB | depth)
  std::filesystem::path out_dir;
  std::string device = "auto";
};

struct RenderSummary {
  int images = 0;               // cameras rendered (PNG triplets written)
  std::filesystem::path video;  // empty without `video`
  int64_t num_gaussians = 0;
};

// The model's Gaussians in the dataset's normalised frame (CPU). A PLY is mapped by `world_to_normalized`
// (the inverse of what write_ply_3dgs applies: means s R x + t, log-scales + log s, quats R q; SH kept);
// a checkpoint is already there.
Gaussians load_model_normalized(const std::filesystem::path& model, const Eigen::Matrix4d& world_to_normalized);

// x' = s R x + t applied in place to CPU Gaussians (means, log-scales + log s, quats R q; SH kept).
// T must be a similarity; pass its inverse to map the normalised frame back to the world.
void apply_similarity(Gaussians& g, const Eigen::Matrix4d& T);

// True when the file starts like a PLY.
bool is_ply_file(const std::filesystem::path& p);

RenderSummary render_model(const RenderOptions& opt);

}  // namespace vg
