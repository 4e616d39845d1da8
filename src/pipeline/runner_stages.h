// Stages of the pipelines `vgsplat run` knows, and the pipelines as stage lists:
//   P1 = {sfm, train}: classical SfM on the scene's photos, then 3DGS training on the new model.
#pragma once
#include "vggt/export.h"
#include <string>
#include <vector>

#include "pipeline/runner.h"
#include "pipeline/sfm_pipeline.h"
#include "pipeline/vggt_ba.h"

namespace vg {

struct TrainConfig;  // splat/train_config.h

// Runs run_sfm on the scene's images into the work folder (sparse/0.., points.ply) and links
// (or copies) the images there as images/, so the folder is a COLMAP dataset for `vgsplat train`.
// Records analysis["sfm"]; a partial reconstruction marks the run partial.
Stage sfm_stage(const SfmOptions& opt, bool copy_images = false);
// Trains on the work folder (data_dir = result_dir = work folder, device of the run). Records
// analysis["train"]: steps, Gaussians, PSNR/SSIM/LPIPS of the last evaluation.
Stage train_stage(const TrainConfig& cfg);

// The trainer defaults of pipeline P1, as the original pipeline ran simple_trainer: 30000 steps,
// evaluation, checkpoints and PLYs at 7000, 15000 and 30000, full-resolution images (data_factor 1).
void apply_p1_train_defaults(TrainConfig& cfg);
// Whether a pipeline trains with camera pose optimisation unless told (--pose-opt / --no-pose-opt): on
// where the training cameras are VGGT's feed-forward poses (P2, P4), which are approximate.
bool pose_opt_default(const std::string& pipeline);

std::vector<std::string> pipeline_names();  // the pipelines this build runs ("P1")
// The stage list of a pipeline by name; vg::Error for unknown ones.
// P1 = sfm + train, P2 = VGGT feed-forward model, P3 = VGGT + tracks + bundle adjustment, P4 = P2 + train,
// P5 = P3 + train. `ba` (P3/P5): the refine options (default p3_refine_defaults); its vggt member is replaced by
// `vggt`.
Pipeline make_pipeline(const std::string& name, const SfmOptions& sfm, const TrainConfig& train,
                       bool copy_images = false, const vggt::VggtRunOptions& vggt = {},
                       const VggtBaOptions* ba = nullptr);

}  // namespace vg
