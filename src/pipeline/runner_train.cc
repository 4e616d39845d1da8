// The train stage and the pipelines' stage lists (the parts that need the trainer).
#include <cmath>
#include <csignal>

#include "core/error.h"
#include "core/interrupt.h"
#include "pipeline/runner_stages.h"
#include "pipeline/runner_vggt.h"
#include "splat/trainer.h"

namespace vg {

void apply_p1_train_defaults(TrainConfig& cfg) {
  cfg.max_steps = 30000;
  cfg.eval_steps = {7000, 15000, 30000};
  cfg.save_steps = {7000, 15000, 30000};
  cfg.ply_steps = {7000, 15000, 30000};
  cfg.save_ply = true;
  cfg.data_factor = 1;
}

bool pose_opt_default(const std::string& pipeline) { return pipeline == "P2" || pipeline == "P4"; }

Stage train_stage(const TrainConfig& cfg) {
  return {"train", [cfg](RunContext& ctx) {
            TrainConfig c = cfg;
            c.data_dir = ctx.work_dir.string();
            c.result_dir = ctx.work_dir.string();
            c.device = ctx.device;
            if (c.steps_scaler != 1.0f) c.adjust_steps(c.steps_scaler);
            c.validate();
            Trainer trainer(c);
            const std::optional<EvalStats> ev = trainer.run();
            if (trainer.interrupted())  // the runner keeps the folder and adds the resume line
              throw Interrupted("interrupted at step " + std::to_string(trainer.interrupt_step() + 1) + " (checkpoint " +
                                    trainer.interrupt_checkpoint() + ")",
                                trainer.interrupt_signal() ? trainer.interrupt_signal() : SIGINT);
            nlohmann::json j = {{"max_steps", c.max_steps},
                                {"train_images", trainer.dataset().train.size()},
                                {"test_images", trainer.dataset().test.size()},
                                {"pose_opt", c.pose_opt}};
            if (ev) {
              j["step"] = ev->step;
              j["psnr"] = ev->psnr;
              j["ssim"] = ev->ssim;
              j["lpips"] = ev->lpips ? nlohmann::json(*ev->lpips) : nlohmann::json(nullptr);
              if (!ev->lpips) j["lpips_reason"] = ev->lpips_reason;
              j["num_gaussians"] = ev->num_gs;
              j["seconds_per_render"] = ev->ellipse_time;
            }
            ctx.analysis["train"] = j;
          }};
}

std::vector<std::string> pipeline_names() { return {"P1", "P2", "P3", "P4", "P5"}; }

Pipeline make_pipeline(const std::string& name, const SfmOptions& sfm, const TrainConfig& train, bool copy_images,
                       const vggt::VggtRunOptions& vggt, const VggtBaOptions* ba) {
  VggtBaOptions ba_opt;
  if (ba) ba_opt = *ba;
  else p3_refine_defaults(ba_opt.refine);
  ba_opt.vggt = vggt;
  if (name == "P1") return {"P1", {sfm_stage(sfm, copy_images), train_stage(train)}};
  if (name == "P2") return {"P2", {vggt_stage(vggt, copy_images)}};
  if (name == "P3") return {"P3", {vggt_ba_stage(ba_opt, copy_images)}};
  if (name == "P4") return {"P4", {vggt_stage(vggt, copy_images), train_stage(train)}};
  if (name == "P5") return {"P5", {vggt_ba_stage(ba_opt, copy_images), train_stage(train)}};
  VG_FAIL("unknown pipeline '", name, "' (P1, P2, P3, P4 or P5)");
}

}  // namespace vg
