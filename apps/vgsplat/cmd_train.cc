// `vgsplat train`: options named as gsplat's examples/simple_trainer.py (`default` config).
#include <cstdio>
#include <memory>
#include <sstream>

#include "apps/vgsplat/appearance_options.h"
#include "apps/vgsplat/commands.h"
#include "apps/vgsplat/strategy_options.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "splat/resume_command.h"
#include "splat/trainer.h"
#include "viewer/training.h"

namespace vg::app {

namespace {

// "r,g,b" in [0,1], or "white" / "black".
std::array<float, 3> parse_background(const std::string& s) {
  if (s == "white") return {1, 1, 1};
  if (s == "black") return {0, 0, 0};
  std::array<float, 3> c{};
  std::stringstream ss(s);
  std::string part;
  int i = 0;
  while (std::getline(ss, part, ',')) {
    VG_CHECK(i < 3, "--background: expected r,g,b or white/black, got '", s, "'");
    try {
      c[i++] = std::stof(part);
    } catch (const std::exception&) {
      VG_FAIL("--background: '", part, "' is not a number");
    }
  }
  VG_CHECK(i == 3, "--background: expected r,g,b or white/black, got '", s, "'");
  return c;
}

void add_strategy_options(CLI::App* cmd, StrategyConfig& s) {
  cmd->add_option("--prune-opa", s.prune_opa, "Prune Gaussians below this opacity");
  cmd->add_option("--grow-grad2d", s.grow_grad2d, "Densify above this mean 2D gradient (0.0008 with --absgrad)");
  cmd->add_option("--grow-scale3d", s.grow_scale3d, "Duplicate below / split above this scale (x scene scale)");
  cmd->add_option("--prune-scale3d", s.prune_scale3d, "Prune above this scale (x scene scale)");
  cmd->add_option("--refine-start-iter", s.refine_start_iter);
  cmd->add_option("--refine-stop-iter", s.refine_stop_iter);
  cmd->add_option("--reset-every", s.reset_every);
  cmd->add_option("--refine-every", s.refine_every);
  cmd->add_option("--pause-refine-after-reset", s.pause_refine_after_reset);
  cmd->add_flag("--absgrad", s.absgrad, "Use absolute gradients for densification (AbsGS)");
  cmd->add_flag("--revised-opacity", s.revised_opacity, "Revised opacity after splitting (arXiv:2404.06109)");
  cmd->add_option("--max-gaussians", s.max_gaussians,
                  "Densification stops growing at this many Gaussians, keeping the highest-gradient candidates "
                  "(0: no cap)")->capture_default_str();
}

}  // namespace

void register_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train 3D Gaussian Splatting (gsplat simple_trainer default)");
  auto cfg = std::make_shared<TrainConfig>();
  auto bkgd = std::make_shared<std::string>("black");
  cmd->add_option("--data-dir", cfg->data_dir, "Dataset folder (COLMAP, transforms.json or LLFF)")->required();
  cmd->add_option("--result-dir", cfg->result_dir, "Output folder")->capture_default_str();
  cmd->add_option("--data-factor", cfg->data_factor, "Downsample the images by this factor")->capture_default_str();
  cmd->add_option("--test-every", cfg->test_every, "Every N-th image is a test image")->capture_default_str();
  cmd->add_option("--global-scale", cfg->global_scale, "Scaler for scene-size related parameters");
  cmd->add_flag("--normalize-world-space,!--no-normalize-world-space", cfg->normalize_world_space);
  cmd->add_option("--background", *bkgd, "Background colour r,g,b in [0,1], white or black")->capture_default_str();
  cmd->add_option("--max-steps", cfg->max_steps)->capture_default_str();
  cmd->add_option("--eval-steps", cfg->eval_steps, "Steps (1-based) to evaluate at");
  cmd->add_option("--save-steps", cfg->save_steps, "Steps (1-based) to save checkpoints at");
  cmd->add_option("--save-every", cfg->save_every, "Also a checkpoint every N steps (the last two kept); 0: none")
      ->capture_default_str();
  cmd->add_option("--save-every-min", cfg->save_every_min,
                  "Also a checkpoint after every M minutes of training (the last two kept); 0: none")
      ->capture_default_str();
  cmd->add_flag("--save-ply", cfg->save_ply, "Write ply/point_cloud_<step>.ply at --ply-steps");
  cmd->add_option("--ply-steps", cfg->ply_steps);
  cmd->add_option("--steps-scaler", cfg->steps_scaler, "Scale every step count (schedule and strategy)");
  cmd->add_option("--batch-size", cfg->batch_size,
                  "Views per step (loss = their mean; learning rates x sqrt(B), Adam betas 1 - B (1 - beta), as gsplat; "
                  "pair with --steps-scaler 1/B)")->capture_default_str();
  cmd->add_option("--tb-every", cfg->tb_every, "TensorBoard scalars (train/loss, l1loss, ssimloss, num_GS, mem, learning "
                  "rates) every N steps into <result-dir>/tb; 0: none")->capture_default_str();
  cmd->add_flag("--tb-save-image", cfg->tb_save_image, "TensorBoard: also the GT | render image of those steps");
  cmd->add_option("--image-cache-gb", cfg->image_cache_gb,
                  "Host memory for the training images, kept as 8-bit RGB (least recently used dropped and decoded "
                  "again); -1: half the machine's memory")->capture_default_str();
  cmd->add_option("--image-prefetch", cfg->image_prefetch,
                  "Training images decoded ahead of their step on a worker thread (0: on demand)")->capture_default_str();
  cmd->add_option("--image-cache-gpu-gb", cfg->image_cache_gpu_gb,
                  "GPU memory for the training images kept resident as 8 bits (-1: 1/8 of the GPU, at most 8 GiB; "
                  "0: upload every step)");
  cmd->add_option("--profile-every", cfg->profile_every,
                  "Every N-th step: time each stage with the device synchronised at its boundaries (stats/profile.json, "
                  "a table at the end); 0: off")->capture_default_str();
  cmd->add_flag("--disable-viewer", cfg->disable_viewer, "Accepted for compatibility (no viewer)");
  auto viewer = std::make_shared<TrainingViewerOptions>();
  auto with_viewer = std::make_shared<bool>(false);
  cmd->add_flag("--viewer", *with_viewer, "Serve the web viewer during training (reloads the splats every --viewer-every)");
  cmd->add_option("--viewer-port", viewer->port, "Web viewer port (127.0.0.1)")->capture_default_str();
  cmd->add_option("--viewer-every", viewer->every, "Web viewer: publish the splats every N steps")->capture_default_str();
  cmd->add_option("--render-traj-path", cfg->render_traj_path, "Trajectory video at each evaluation (and the last "
                  "step) into <result-dir>/videos/traj_<step>.mp4: interp, ellipse or spiral")->capture_default_str();
  cmd->add_flag("--no-traj,--disable-video", cfg->disable_video, "Skip the trajectory video");
  cmd->add_option("--init-type", cfg->init_type, "sfm or random")->capture_default_str();
  cmd->add_option("--init-num-pts", cfg->init_num_pts, "Random init: number of Gaussians");
  cmd->add_option("--init-extent", cfg->init_extent, "Random init: half-extent as a multiple of the scene scale");
  cmd->add_option("--init-aabb", cfg->init_aabb, "Random init: absolute half-size of the cube (overrides extent)");
  cmd->add_option("--init-opa", cfg->init_opa);
  cmd->add_option("--init-scale", cfg->init_scale);
  cmd->add_option("--sh-degree", cfg->sh_degree);
  cmd->add_option("--sh-degree-interval", cfg->sh_degree_interval);
  cmd->add_option("--ssim-lambda", cfg->ssim_lambda);
  cmd->add_option("--near-plane", cfg->near_plane);
  cmd->add_option("--far-plane", cfg->far_plane);
  cmd->add_flag("--antialiased", cfg->antialiased, "Mip-Splatting style antialiased rasterization");
  cmd->add_flag("--tight-tiles,!--no-tight-tiles", cfg->tight_tiles,
                "List each Gaussian only in the tiles its alpha >= 1/255 ellipse reaches (default; the rendering is "
                "the same as gsplat's box lists, with less work)");
  cmd->add_option("--means-lr", cfg->means_lr);
  cmd->add_option("--scales-lr", cfg->scales_lr);
  cmd->add_option("--opacities-lr", cfg->opacities_lr);
  cmd->add_option("--quats-lr", cfg->quats_lr);
  cmd->add_option("--sh0-lr", cfg->sh0_lr);
  cmd->add_option("--shN-lr", cfg->shN_lr);
  add_strategy_options(cmd, cfg->strategy);
  add_mcmc_options(cmd, *cfg);
  cmd->add_flag("--pose-opt,!--no-pose-opt", cfg->pose_opt,
                "Optimise the training cameras (gsplat CameraOptModule: per-image translation + 6D rotation "
                "residual); the result in <result-dir>/poses/train_poses_<step>.json");
  cmd->add_option("--pose-opt-lr", cfg->pose_opt_lr, "Learning rate of the pose residuals")->capture_default_str();
  cmd->add_option("--pose-opt-reg", cfg->pose_opt_reg, "Weight decay of the pose residuals")->capture_default_str();
  cmd->add_option("--pose-opt-start", cfg->pose_opt_start,
                  "Keep the pose residuals frozen before this step (0: from the first, as gsplat; on fox a later "
                  "start recovered less, BENCHMARKS.md)")
      ->capture_default_str();
  cmd->add_option("--pose-opt-lr-final", cfg->pose_opt_lr_final,
                  "The pose residuals' learning rate decays exponentially to lr x this at the last step (gsplat: 0.01)")
      ->capture_default_str();
  cmd->add_option("--pose-noise", cfg->pose_noise,
                  "Perturb the training cameras by residuals ~ normal(0, this) (to test --pose-opt)")
      ->capture_default_str();
  cmd->add_flag("--use-color-correction-metric", cfg->use_color_correction_metric,
                "Also report cc_psnr / cc_ssim / cc_lpips: the render colour-corrected to the ground truth first "
                "(gsplat's; for --post-processing, whose per-image appearance the test views do not have)");
  cmd->add_option("--color-correct-method", cfg->color_correct_method, "affine or quadratic")
      ->check(CLI::IsMember({"affine", "quadratic"}))
      ->capture_default_str();
  cmd->add_flag("--eval-pose-align,!--no-eval-pose-align", cfg->eval_pose_align,
                "With --pose-opt, evaluate at the test cameras moved into the optimised cameras' frame (the "
                "similarity from the given training cameras to the adjusted ones)")
      ->capture_default_str();
  cmd->add_option("--eval-pose-opt-steps", cfg->eval_pose_opt_steps,
                  "With --pose-opt, also optimise each test camera on its image for N steps (Gaussians frozen)")
      ->capture_default_str();
  cmd->add_option("--eval-pose-opt-lr", cfg->eval_pose_opt_lr, "Learning rate of the test-time pose optimisation")
      ->capture_default_str();
  add_post_processing_options(cmd, *cfg);
  cmd->add_option("--seed", cfg->seed)->capture_default_str();
  cmd->add_option("--device", cfg->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--ckpt", cfg->ckpt, "Resume from this checkpoint (with --eval-only: evaluate it)");
  cmd->add_flag("--restart", cfg->restart,
                "Start over in a --result-dir that holds an unfinished run (default: resume it from its newest checkpoint)");
  cmd->add_flag("--eval-only", cfg->eval_only, "Evaluate --ckpt without training");
  cmd->add_option("--lpips-weights", cfg->lpips_weights, "LPIPS weights (safetensors); default $VGSPLAT_LPIPS_WEIGHTS");
  cmd->callback([cmd, cfg, bkgd, viewer, with_viewer] {
    TrainConfig c = *cfg;
    apply_mcmc_preset(*cmd, c);
    c.background = parse_background(*bkgd);
    if (c.steps_scaler != 1.0f) c.adjust_steps(c.steps_scaler);
    Trainer trainer(c);
    // After an interrupt: the same command again (it resumes from the newest checkpoint).
    if (const std::string again = shell_command(process_arguments(), {"--restart"}, {"--ckpt"}); !again.empty())
      trainer.set_resume_command(again);
    std::unique_ptr<TrainingViewer> live;
    if (*with_viewer) {
      live = std::make_unique<TrainingViewer>(trainer, *viewer);
      std::printf("viewer at %s (splats every %d steps)\n", live->url().c_str(), viewer->every);
      std::fflush(stdout);
    }
    auto stats = trainer.run();
    if (trainer.interrupted()) {  // the trainer logged the checkpoint and the resume command
      set_exit_code(trainer.interrupt_signal() ? 128 + trainer.interrupt_signal() : kInterruptedExitCode);
      return;
    }
    if (stats) {
      std::printf("PSNR %.3f  SSIM %.4f  LPIPS %s  (%lld Gaussians, step %d)\n", stats->psnr, stats->ssim,
                  stats->lpips ? std::to_string(*stats->lpips).c_str() : "n/a",
                  static_cast<long long>(stats->num_gs), stats->step);
    }
    std::printf("results in %s\n", c.result_dir.c_str());
  });
}

}  // namespace vg::app
