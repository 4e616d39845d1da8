// Pipeline P2's stage for `vgsplat run P2 <scene>`: VGGT feed-forward reconstruction (vggt/export.h) into the
// work folder: sparse/ (COLMAP model, points.ply) and images/ (a link to the scene's photos, or a copy).
#pragma once
#include "pipeline/runner.h"
#include "pipeline/vggt_ba.h"
#include "vggt/export.h"

namespace vg {

// Runs vggt::run_vggt_p2 on the scene into ctx.work_dir (weights from opt.weights or $VGSPLAT_VGGT_WEIGHTS) on
// the run's device (ctx.device: the CUDA engine on a GPU, else the CPU engine; opt.precision applies). Records
// analysis["vggt"] (images, points3D, confident_points, engine, precision, device, network_seconds,
// peak_gpu_memory_gb, seconds per step).
Stage vggt_stage(const vggt::VggtRunOptions& opt = {}, bool copy_images = false);

// Pipeline P3's stage: run_vggt_ba (VGGT, then refinement by SIFT tracks + bundle adjustment) into the work folder:
// sparse/0 (refined), feedforward/ (VGGT's own model), refine_report.json, images/. Records analysis["vggt"] and
// analysis["refine"] (the BA report); a refinement that kept some cameras at VGGT's poses marks the run partial.
Stage vggt_ba_stage(const VggtBaOptions& opt, bool copy_images = false);

}  // namespace vg
