// `vgsplat train`: gsplat simple_trainer.py `default` in C++. Per step: a random train view
// (seeded permutation per epoch), preprocess -> tile intersection -> rasterize -> L1/SSIM loss ->
// backward -> Adam on the six parameter groups (means lr decays exponentially) -> DefaultStrategy
// accumulate/refine. Writes cfg.yml, checkpoints, PLYs, evaluation renders and stats into result_dir.
#pragma once
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "io/dataset.h"
#include "core/stage_profiler.h"
#include "io/tb_events.h"
#include "metrics/loss.h"
#include "splat/adam.h"
#include "splat/gaussians.h"
#include "splat/image_cache.h"
#include "splat/rasterize.h"
#include "splat/strategy.h"
#include "splat/train_config.h"

namespace vg {

class BilateralGridOptimizer;
class Lpips;
class PoseOptimizer;
struct Checkpoint;

struct EvalStats {
  int step = 0;
  double psnr = 0, ssim = 0;
  std::optional<double> lpips;  // empty when no LPIPS weights are available
  std::string lpips_reason;     // why lpips is empty
  double ellipse_time = 0;      // seconds per rendered image
  int64_t num_gs = 0;
  // with --pose-opt: the test cameras were adjusted (TrainConfig::eval_pose_align / eval_pose_opt_steps);
  // the metrics at the given test cameras, and how the test cameras moved
  // --use-color-correction-metric: the metrics of the colour-corrected renders
  std::optional<double> cc_psnr, cc_ssim, cc_lpips;
  std::string test_poses = "given";
  std::optional<double> psnr_given, ssim_given;
  double test_pose_rot_deg = 0, test_pose_center = 0;  // mean change from the given test cameras
};

// One forward render of `g` from `cam`.
struct Render {
  PreprocessOut pre;
  TileIntersections isect;
  RasterOut raster;
};
// The projection settings of a training config at SH degree `sh_degree`.
PreprocessSettings preprocess_settings(const TrainConfig& cfg, int sh_degree);
// The tile lists of a projected view (tight culling unless --no-tight-tiles).
TileIntersections isect_for(const PreprocessOut& pre, const Camera& cam, const TrainConfig& cfg);
Render render_view(const Gaussians& g, const Camera& cam, int sh_degree, const TrainConfig& cfg);

class Trainer {
 public:
  // Loads the dataset named by cfg.data_dir, initialises the Gaussians (or restores cfg.ckpt). Without
  // cfg.ckpt, an unfinished run in cfg.result_dir of the same options is resumed from its newest
  // checkpoint (splat/train_resume.h; cfg.restart starts over).
  explicit Trainer(TrainConfig cfg);
  // The same with an already loaded dataset.
  Trainer(TrainConfig cfg, Dataset data);
  ~Trainer();

  // cfg.eval_only: evaluates the checkpoint's model; otherwise trains from start_step() to max_steps,
  // saving and evaluating at the configured steps. Returns the last evaluation (if any ran).
  // SIGINT/SIGTERM during training (core/interrupt.h) end it after the current step with a checkpoint
  // of that step and a log line naming the resume command; interrupted() then says so. Out of memory
  // during a step: one vg::Error line naming the step, the allocation and what to change.
  std::optional<EvalStats> run();
  // One optimisation step (0-based `step`); returns the loss when `read_loss`, else NaN.
  float train_step(int step, bool read_loss);
  // Renders every test view; with write_outputs, writes renders/val_step<step>_<i>.png (GT | render)
  // and stats/val_step<step>.json.
  EvalStats evaluate(int step, bool write_outputs = true);
  // simple_trainer render_traj: videos/traj_<step>.mp4 along cfg.render_traj_path (RGB | depth, 30 fps).
  // Without FFmpeg in the build: one warning, no file.
  void render_traj(int step);
  // Writes ckpts/ckpt_<step>.safetensors (the state after `step`).
  void save_checkpoint_at(int step);

  const TrainConfig& config() const { return cfg_; }
  const Dataset& dataset() const { return data_; }
  const Gaussians& gaussians() const { return g_; }
  float scene_scale() const { return scene_scale_; }
  int start_step() const { return start_step_; }
  Device device() const { return device_; }
  void set_verbose(bool v) { verbose_ = v; }  // log every refinement (default on)
  // Called after every training step with the 0-based step (tests, progress hooks).
  void set_step_callback(std::function<void(int step)> f) { on_step_ = std::move(f); }
  // After run(): whether a signal stopped the training, and the checkpoint written then.
  bool interrupted() const { return !interrupt_ckpt_.empty(); }
  const std::string& interrupt_checkpoint() const { return interrupt_ckpt_; }
  int interrupt_step() const { return interrupt_step_; }
  // ckpts/ckpt_<step>.safetensors of this run.
  std::string checkpoint_path(int step) const;
  // The command that continues this run after an interrupt (default: resume_command(cfg, ckpt)).
  void set_resume_command(std::string cmd) { resume_cmd_ = std::move(cmd); }
  int interrupt_signal() const { return interrupt_signal_; }
  const std::string& run_id() const { return run_id_; }
  // --pose-opt / --pose-noise: the training cameras' residuals (nullptr without either).
  const PoseOptimizer* pose_optimizer() const { return pose_.get(); }
  // --post-processing bilateral_grid: the training images' grids (nullptr without).
  const BilateralGridOptimizer* bilateral_grid() const { return bilagrid_.get(); }
  // The camera training view `i` is rendered with (the dataset's, or perturbed and adjusted).
  Camera train_camera(int i) const;

 private:
  void setup();
  int train_view_for_sample(int64_t sample);
  Tensor train_image_for_sample(int64_t sample, int view);
  float train_view(int64_t sample, int step, int sh_degree, GaussianGrads& grads, bool read_loss);
  void save_train_stats(int step, double elapsed);
  void save_ply_at(int step);
  void log_tensorboard(int step);
  void stop_on_interrupt(int step, bool saved, double elapsed);
  bool periodic_save_due(int step) const;
  bool save_points(int step, double elapsed);
  std::string progress_fields(float loss, int step) const;
  void output_points(int step, std::optional<EvalStats>& last);
  void keep_rolling(int step);
  void resume_state(const Checkpoint& ck);
  void write_poses(int step);
  void write_profile();
  [[noreturn]] void rethrow_out_of_memory(const std::exception& e, int step) const;
  const Lpips* lpips(std::string& reason);
  // The camera test view `v` is evaluated at (trainer_eval.cc): as given, or with --pose-opt moved by the
  // gauge and optimised on its image `gt` (on the host).
  Camera eval_camera(const View& v, const Tensor& gt, const std::optional<Camera>& aligned);
  Camera optimise_test_pose(const Camera& start, const Tensor& gt);

  TrainConfig cfg_;
  Dataset data_;
  Device device_;
  float scene_scale_ = 1;
  Gaussians g_;
  AdamState adam_[Gaussians::kGroups];
  std::unique_ptr<DefaultStrategy> strategy_;
  std::unique_ptr<MCMCStrategy> mcmc_;  // --strategy mcmc (then strategy_ is unused)
  std::unique_ptr<PoseOptimizer> pose_;  // with cfg.pose_opt or cfg.pose_noise
  // --pose-opt with --pose-noise: the training cameras' error against the truth every 100 steps of this process
  // (step, then PoseOptimizer::Error's six figures), written with the pose report as poses/error_history.json.
  std::vector<std::array<double, 7>> pose_history_;
  void record_pose_error(int step);
  void write_pose_history() const;
  void load_pose_history();
  std::unique_ptr<StageProfiler> prof_;  // --profile-every (created by run())
  void mark(const char* stage) {
    if (prof_) prof_->mark(stage);
  }
  std::unique_ptr<BilateralGridOptimizer> bilagrid_;  // with cfg.post_processing == "bilateral_grid"
  int start_step_ = 0;
  std::unique_ptr<TrainImageCache> images_;  // 8-bit training images on the host, decoded ahead
  std::vector<int> epoch_perm_;
  int epoch_ = -1;
  std::unique_ptr<Lpips> lpips_;
  bool lpips_tried_ = false;
  bool verbose_ = true;
  std::string lpips_reason_;
  std::unique_ptr<TbEventWriter> tb_;  // <result_dir>/tb when cfg.tb_every > 0
  PhotometricLoss last_loss_;          // of the last step (device scalars, read only for TensorBoard)
  Tensor last_render_, last_gt_;       // kept only with cfg.tb_save_image
  std::function<void(int)> on_step_;
  std::string interrupt_ckpt_;         // set when a signal stopped run()
  int interrupt_step_ = -1;
  int interrupt_signal_ = 0;
  std::string resume_cmd_;
  std::string run_id_;                 // this training run (kept across resumptions)
  std::string last_ckpt_;              // newest checkpoint of this run (named in out-of-memory errors)
  std::vector<int> rolling_;           // steps of this run's --save-every / interrupt checkpoints, oldest first
  std::chrono::steady_clock::time_point last_save_;
};

}  // namespace vg
