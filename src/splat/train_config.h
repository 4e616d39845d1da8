// Training options of `vgsplat train`, named and defaulted as gsplat's examples/simple_trainer.py
// `default` config (DefaultStrategy), plus a few vgsplat additions (init_aabb, background, device, lpips).
#pragma once
#include <array>
#include <string>
#include <vector>

#include "splat/mcmc_strategy.h"
#include "splat/strategy.h"

namespace vg {

struct TrainConfig {
  // data / output
  std::string data_dir;
  std::string result_dir = "results/garden";
  int data_factor = 4;
  int test_every = 8;
  float global_scale = 1.0f;
  bool normalize_world_space = true;
  std::array<float, 3> background{0, 0, 0};  // composited behind RGBA images and behind every render

  // schedule
  int max_steps = 30000;
  std::vector<int> eval_steps{7000, 30000};
  std::vector<int> save_steps{7000, 30000};
  int save_every = 0;           // also a checkpoint every N steps (0: none); the last two such are kept
  float save_every_min = 5.0f;  // ... and after every M minutes of training (0: none); see README "Resume"
  bool save_ply = false;
  std::vector<int> ply_steps{7000, 30000};
  float steps_scaler = 1.0f;
  // --batch-size: views per step (gsplat simple_trainer batch_size): the loss is their mean; the Gaussians' Adam
  // takes lr x sqrt(B), eps / sqrt(B), betas 1 - B (1 - beta) (adam_config()); pose / bilateral-grid lr x sqrt(B).
  int batch_size = 1;
  int tb_every = 100;          // TensorBoard scalars every N steps into <result_dir>/tb (0: none), as gsplat
  bool tb_save_image = false;  // ... and the GT | render image of that step
  double image_cache_gb = -1;  // host memory for the 8-bit training images (-1: half the machine's; see image_cache.h)
  int image_prefetch = 4;      // training images decoded ahead on a worker thread
  double image_cache_gpu_gb = -1;  // GPU memory for resident 8-bit images (-1: 1/8 of the GPU, <= 8 GiB; 0: none)
  int profile_every = 0;       // --profile-every N: stage times of every N-th step (core/stage_profiler.h); 0 off
  bool disable_viewer = false; // accepted for compatibility (no viewer)
  std::string render_traj_path = "interp";  // trajectory video at eval steps: interp | ellipse | spiral
  bool disable_video = false;  // --no-traj: no trajectory video

  // initialisation
  std::string init_type = "sfm";  // sfm | random
  int init_num_pts = 100000;
  float init_extent = 3.0f;       // random init: +-init_extent * scene_scale
  float init_aabb = 0.0f;         // random init: +-init_aabb (absolute) when > 0 (3DGS NeRF-synthetic: 1.3)
  float init_opa = 0.1f;
  float init_scale = 1.0f;
  int sh_degree = 3;
  int sh_degree_interval = 1000;

  // rendering / loss
  float ssim_lambda = 0.2f;
  float near_plane = 0.01f;
  float far_plane = 1e10f;
  bool antialiased = false;
  bool tight_tiles = true;  // list a Gaussian only in the tiles its alpha >= 1/255 ellipse reaches (same rendering)

  // learning rates (means_lr is multiplied by scene_scale and decays exponentially to 1% at max_steps)
  float means_lr = 1.6e-4f;
  float scales_lr = 5e-3f;
  float opacities_lr = 5e-2f;
  float quats_lr = 1e-3f;
  float sh0_lr = 2.5e-3f;
  float shN_lr = 2.5e-3f / 20;

  StrategyConfig strategy;
  // --strategy default | mcmc (gsplat DefaultStrategy / MCMCStrategy; `mcmc` uses `mcmc` below, not `strategy`)
  std::string strategy_type = "default";
  MCMCConfig mcmc;
  // gsplat opacity_reg / scale_reg (splat/regularization.h); the mcmc preset sets both to 0.01
  float opacity_reg = 0.0f;
  float scale_reg = 0.0f;

  // camera pose optimisation (gsplat --pose-opt; splat/pose_opt.h): a per-image residual of the training
  // cameras with its own Adam; --pose-noise perturbs the training cameras (to test it)
  bool pose_opt = false;
  float pose_opt_lr = 1e-5f;
  float pose_opt_reg = 1e-6f;
  float pose_noise = 0.0f;
  int pose_opt_start = 0;  // --pose-opt-start: the residuals stay frozen before this step (gsplat: 0)
  float pose_opt_lr_final = 0.01f;  // --pose-opt-lr-final: their lr decays exponentially to lr x this (gsplat: 0.01)
  // evaluation with --pose-opt: the test cameras (given in the dataset's frame, as the training cameras were)
  // are moved by the optimisation's gauge (PoseOptimizer::gauge: the similarity from the training cameras as
  // given to the adjusted ones), then optionally optimised on their own images for N steps with the Gaussians
  // frozen (test-time pose optimisation, its own Adam at lr decaying to 1%); the PSNR at the given test
  // cameras is reported beside
  // gsplat --use-color-correction-metric / --color-correct-method: also cc_psnr / cc_ssim / cc_lpips, the render
  // mapped to the ground truth's colours first (metrics/color_correct.h: affine | quadratic)
  bool use_color_correction_metric = false;
  std::string color_correct_method = "affine";
  bool eval_pose_align = true;
  int eval_pose_opt_steps = 0;
  float eval_pose_opt_lr = 1e-3f;

  // appearance post-processing (gsplat --post-processing; splat/bilateral_grid_opt.h): none | bilateral_grid, a
  // per-training-image bilateral grid of affine colour transforms (grid_X, grid_Y, grid_W) applied to the
  // training renders; its Adam's lr and LinearLR warm-up steps (gsplat: 2e-3, 1000)
  std::string post_processing = "none";
  std::array<int, 3> bilateral_grid_shape{16, 16, 8};
  float bilateral_grid_lr = 2e-3f;
  int bilateral_grid_warmup = 1000;

  // run
  uint64_t seed = 42;
  std::string device = "auto";
  std::string ckpt;        // resume from (or, with eval_only, evaluate) this checkpoint
  bool eval_only = false;
  bool restart = false;    // ignore an unfinished run in result_dir (default: resume it)
  std::string lpips_weights;  // LPIPS safetensors; empty -> $VGSPLAT_LPIPS_WEIGHTS; none -> lpips null

  // gsplat Config.adjust_steps: scales every step count (schedule and strategy) by `factor`.
  void adjust_steps(float factor);
  // Learning rate of parameter group `i` (Gaussians::group order) at 0-based `step`.
  double lr(int group, int step, float scene_scale) const;
  // The Gaussians' Adam for parameter group `group` at 0-based step `step` (learning rate and the batch scaling).
  AdamConfig adam_config(int group, int step, float scene_scale) const;
  // Throws vg::Error for inconsistent options.
  void validate() const;

  std::string to_yaml() const;  // cfg.yml: every option
  std::string to_json() const;  // stored in checkpoints
  static TrainConfig from_json(const std::string& json);
};

}  // namespace vg
