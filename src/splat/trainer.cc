#include "splat/trainer.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/cuda_memory.h"
#include "core/fs.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "core/tensor_ops.h"
#include "io/ply.h"
#include "metrics/loss.h"
#include "metrics/lpips.h"
#include "splat/bilateral_grid_opt.h"
#include "splat/checkpoint.h"
#include "splat/init.h"
#include "splat/pose_opt.h"
#include "splat/preprocess.h"
#include "splat/regularization.h"
#include "splat/resume_command.h"
#include "splat/train_resume.h"
#include "splat/traj_render.h"

namespace vg {

namespace {

Dataset load_for(const TrainConfig& cfg) {
  DatasetOptions opt;
  opt.dir = cfg.data_dir;
  opt.data_factor = cfg.data_factor;
  opt.test_every = cfg.test_every;
  opt.normalize = cfg.normalize_world_space;
  opt.background = cfg.background;
  return load_dataset(opt);
}

bool is_listed(const std::vector<int>& steps, int step) {
  for (int s : steps)
    if (s - 1 == step) return true;
  return false;
}

std::string fmt_count(int64_t n) {
  char buf[32];
  if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1000) std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

PoseOptConfig pose_config(const TrainConfig& c) {
  // simple_trainer: lr x sqrt(batch_size)
  const float lr = c.pose_opt_lr * std::sqrt(static_cast<float>(c.batch_size));
  return {c.pose_opt, lr, c.pose_opt_reg, c.pose_noise, c.max_steps, c.seed, c.pose_opt_start, c.pose_opt_lr_final};
}

BilateralGridConfig bilateral_grid_config(const TrainConfig& c) {
  BilateralGridConfig b;
  b.shape = {c.bilateral_grid_shape[0], c.bilateral_grid_shape[1], c.bilateral_grid_shape[2]};
  b.lr = c.bilateral_grid_lr * std::sqrt(static_cast<float>(c.batch_size)), b.warmup = c.bilateral_grid_warmup, b.max_steps = c.max_steps;
  return b;
}

double peak_mem_gb(const Device& d) { return d.is_cuda() ? cuda_peak_memory(d.index) / 1073741824.0 : 0.0; }

}  // namespace

Trainer::Trainer(TrainConfig cfg) : Trainer(cfg, load_for(cfg)) {}

Trainer::Trainer(TrainConfig cfg, Dataset data) : cfg_(std::move(cfg)), data_(std::move(data)) {
  try {
    setup();
  } catch (const OutOfMemory& e) {
    throw OutOfMemory(std::string("out of memory setting up the training: ") + e.what() +
                      "; to fit: a larger --data-factor, fewer --init-num-pts, or --device cpu");
  }
}

Trainer::~Trainer() = default;

void Trainer::setup() {
  cfg_.validate();
  VG_CHECK(!data_.train.empty(), "the dataset has no training views");
  device_ = resolve_device(cfg_.device);
  set_current_device(device_);
  scene_scale_ = data_.scene_scale * 1.1f * cfg_.global_scale;
  ImageCacheOptions io;
  io.budget_bytes = cfg_.image_cache_gb < 0 ? -1 : static_cast<int64_t>(cfg_.image_cache_gb * double(1 << 30));
  io.prefetch = cfg_.image_prefetch;
  io.gpu_budget_bytes =
      cfg_.image_cache_gpu_gb < 0 ? -1 : static_cast<int64_t>(cfg_.image_cache_gpu_gb * double(1 << 30));
  images_ = std::make_unique<TrainImageCache>(
      static_cast<int>(data_.train.size()), [this](int i) { return data_.load_image(data_.train[i]); }, io);

  if (cfg_.ckpt.empty() && !cfg_.eval_only) {  // an unfinished run of the same options in result_dir
    if (const std::optional<ResumePoint> rp = find_resume_point(cfg_)) {
      cfg_.ckpt = rp->ckpt.string();
      log_info("resuming the unfinished training in " + cfg_.result_dir + " (--restart starts over)");
    }
  }
  Checkpoint ck;
  const bool resume = !cfg_.ckpt.empty();
  if (resume) {
    ck = load_checkpoint(cfg_.ckpt);
    VG_CHECK(ck.gaussians.max_sh_degree() == cfg_.sh_degree, cfg_.ckpt, ": checkpoint has SH degree ",
             ck.gaussians.max_sh_degree(), " but --sh-degree is ", cfg_.sh_degree);
    g_ = ck.gaussians.to(device_);
    start_step_ = ck.step + 1;
    log_info("restored " + std::to_string(g_.size()) + " Gaussians from " + cfg_.ckpt + " (step " +
             std::to_string(ck.step) + ")");
  } else {
    std::mt19937_64 rng(cfg_.seed);
    g_ = init_from_config(cfg_, data_, scene_scale_, rng).to(device_);
    log_info("initialised " + std::to_string(g_.size()) + " Gaussians (" + cfg_.init_type + "), scene scale " +
             std::to_string(scene_scale_));
  }
  for (int i = 0; i < Gaussians::kGroups; ++i) adam_[i] = adam_init(g_.group(i));
  strategy_ = std::make_unique<DefaultStrategy>(cfg_.strategy, scene_scale_, cfg_.seed + start_step_);
  if (cfg_.strategy_type == "mcmc")
    mcmc_ = std::make_unique<MCMCStrategy>(cfg_.mcmc, cfg_.seed, cfg_.seed + start_step_);
  if (cfg_.pose_opt || cfg_.pose_noise > 0)
    pose_ = std::make_unique<PoseOptimizer>(static_cast<int>(data_.train.size()), pose_config(cfg_));
  if (cfg_.post_processing == "bilateral_grid")
    bilagrid_ = std::make_unique<BilateralGridOptimizer>(static_cast<int>(data_.train.size()),
                                                         bilateral_grid_config(cfg_), device_);
  run_id_ = resume && !ck.run_id.empty() ? ck.run_id : new_run_id();
  if (resume) resume_state(ck);
}

// The optimiser, strategy and bookkeeping state a checkpoint carries beyond the Gaussians.
void Trainer::resume_state(const Checkpoint& ck) {
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    if (!ck.adam[i].exp_avg.defined()) continue;
    adam_[i].exp_avg = ck.adam[i].exp_avg.to(device_);
    adam_[i].exp_avg_sq = ck.adam[i].exp_avg_sq.to(device_);
    adam_[i].step = ck.adam[i].step;
  }
  if (ck.strategy.grad2d.defined()) {
    strategy_->state().grad2d = ck.strategy.grad2d.to(device_);
    strategy_->state().count = ck.strategy.count.to(device_);
  }
  if (!ck.strategy_rng.empty()) {  // older checkpoints: the strategy reseeds from seed + step
    std::istringstream is(ck.strategy_rng);
    is >> (mcmc_ ? mcmc_->rng() : strategy_->rng());
    VG_CHECK(!is.fail(), cfg_.ckpt, ": bad strategy random-number state");
  }
  if (pose_ && cfg_.pose_opt) {  // a checkpoint trained without --pose-opt: the residuals start at zero
    if (ck.pose_adjust.defined()) pose_->restore(ck.pose_adjust, ck.pose_adam);
    else log_info(cfg_.ckpt + " has no camera pose residuals: --pose-opt starts them at zero");
  }
  load_pose_history();
  if (bilagrid_) {
    if (ck.bilateral_grids.defined()) bilagrid_->restore(ck.bilateral_grids, ck.bilateral_grid_adam);
    else log_info(cfg_.ckpt + " has no bilateral grids: --post-processing bilateral_grid starts them at identity");
  }
  remove_stale_temp_files(fs::path(cfg_.result_dir) / "ckpts");  // a checkpoint cut short by a kill
  // This run's earlier periodic checkpoints, so that only the last two are kept.
  for (const auto& [step, path] : list_checkpoints(cfg_.result_dir))
    if (step < start_step_ && !is_listed(cfg_.save_steps, step) && checkpoint_run_id(path) == run_id_)
      rolling_.push_back(step);
}

// gsplat draws views from a DataLoader reshuffled every epoch; here epoch e uses a permutation
// seeded by (seed, e), so a resumed run sees the same sequence.
namespace {
std::vector<int> epoch_permutation(uint64_t seed, int epoch, int n) {
  std::vector<int> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  for (int i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng() % static_cast<uint64_t>(i + 1)]);
  return perm;
}
}  // namespace

// Training samples run through shuffled epochs of the training views; step s trains samples s B .. s B + B - 1.
int Trainer::train_view_for_sample(int64_t sample) {
  const int n = static_cast<int>(data_.train.size());
  const int e = static_cast<int>(sample / n);
  if (e != epoch_) {
    epoch_perm_ = epoch_permutation(cfg_.seed, e, n);
    epoch_ = e;
  }
  return epoch_perm_[sample % n];
}

// The view of `sample`, then the next samples' views queued for decoding on the cache's worker.
Tensor Trainer::train_image_for_sample(int64_t sample, int view) {
  if (cfg_.image_prefetch > 0) {
    const int n = static_cast<int>(data_.train.size());
    const int64_t end = static_cast<int64_t>(cfg_.max_steps) * cfg_.batch_size;
    std::vector<int> next;
    for (int64_t s = sample + 1; s <= sample + cfg_.image_prefetch && s < end; ++s)
      next.push_back(s / n == epoch_ ? epoch_perm_[s % n] : epoch_permutation(cfg_.seed, static_cast<int>(s / n), n)[s % n]);
    images_->prefetch(next);
  }
  return images_->get(view, device_);
}

PreprocessSettings preprocess_settings(const TrainConfig& cfg, int sh_degree) {
  PreprocessSettings ps;
  ps.sh_degree = sh_degree;
  ps.antialiased = cfg.antialiased;
  ps.near_plane = cfg.near_plane;
  ps.far_plane = cfg.far_plane;
  return ps;
}

TileIntersections isect_for(const PreprocessOut& pre, const Camera& cam, const TrainConfig& cfg) {
  if (!cfg.tight_tiles) return isect_tiles(pre.means2d, pre.radii, pre.depths, cam.width, cam.height);
  return isect_tiles(pre.means2d, pre.radii, pre.depths, cam.width, cam.height, kTileSize, pre.conics, pre.opacities);
}

Render render_view(const Gaussians& g, const Camera& cam, int sh_degree, const TrainConfig& cfg) {
  const PreprocessSettings ps = preprocess_settings(cfg, sh_degree);
  Render r;
  r.pre = preprocess_forward(g, cam, ps);
  r.isect = isect_for(r.pre, cam, cfg);
  r.raster = rasterize_forward(r.pre.means2d, r.pre.conics, r.pre.colors, r.pre.opacities, cfg.background, r.isect,
                               cam.width, cam.height);
  return r;
}

Camera Trainer::train_camera(int i) const {
  return pose_ ? pose_->train_camera(i, data_.train[i].camera) : data_.train[i].camera;
}

// One training view of step `step`: render, loss, backward into `grads` (overwritten), with the per-view side
// effects (the strategy's gradient statistics, the pose and bilateral-grid gradients weighted by 1 / batch).
// Returns the view's loss when read_loss (a host sync), else NaN.
float Trainer::train_view(int64_t sample, int step, int sh_degree, GaussianGrads& grads, bool read_loss) {
  const int view = train_view_for_sample(sample);
  const Camera cam = train_camera(view);
  Tensor gt = train_image_for_sample(sample, view);
  const float weight = 1.0f / static_cast<float>(cfg_.batch_size);
  mark("image");

  const PreprocessSettings ps = preprocess_settings(cfg_, sh_degree);
  Render r;  // render_view, stage by stage
  r.pre = preprocess_forward(g_, cam, ps);
  mark("preprocess");
  r.isect = isect_for(r.pre, cam, cfg_);
  if (prof_) prof_->count("tile intersections", static_cast<double>(r.isect.n_isects));
  if (prof_) prof_->count("Gaussians", static_cast<double>(g_.size()));
  mark("isect (sort)");
  r.raster = rasterize_forward(r.pre.means2d, r.pre.conics, r.pre.colors, r.pre.opacities, cfg_.background, r.isect,
                               cam.width, cam.height);
  mark("rasterize");
  // --post-processing bilateral_grid: the loss sees the render through the view's grid (gsplat slices in
  // rasterize_splats); its backward gives d loss / d render and the grids' gradient (their step follows the batch).
  const Tensor colors = bilagrid_ ? bilagrid_->slice(view, r.raster.colors) : r.raster.colors;
  PhotometricLoss loss = photometric_loss(colors, gt, cfg_.ssim_lambda);
  const Tensor v_render = bilagrid_ ? bilagrid_->backward(view, r.raster.colors, loss.v_render) : loss.v_render;
  mark(bilagrid_ ? "loss + bilateral grid" : "loss");
  RasterGrads rg = rasterize_backward(r.pre.means2d, r.pre.conics, r.pre.colors, r.pre.opacities, cfg_.background,
                                      r.isect, cam.width, cam.height, r.raster, v_render, Tensor(),
                                      cfg_.strategy.absgrad);
  mark("rasterize backward");
  last_loss_ = loss;
  if (cfg_.tb_save_image) last_render_ = colors, last_gt_ = gt;
  const bool pose_grad = pose_ && pose_->optimising();
  Tensor v_viewmat;
  preprocess_backward(g_, cam, ps, r.pre, PreprocessGradsIn{rg.v_means2d, rg.v_conics, rg.v_opacities, rg.v_colors},
                      grads, pose_grad ? &v_viewmat : nullptr);
  mark("preprocess backward");
  if (pose_grad) pose_->accumulate(view, data_.train[view].camera, v_viewmat, weight);
  // Each view's own means2d gradient, as gsplat's (grads x n_cameras of the batch-mean loss).
  if (!mcmc_)
    strategy_->step_post_backward_accumulate(step, cfg_.strategy.absgrad ? rg.v_means2d_abs : rg.v_means2d,
                                             r.pre.radii, cam.width, cam.height);
  mark("pose + grad2d stats");
  return read_loss ? loss.loss.item() : NAN;
}

float Trainer::train_step(int step, bool read_loss) {
  const int batch = cfg_.batch_size;
  const int sh_degree = std::min(step / cfg_.sh_degree_interval, cfg_.sh_degree);
  // --batch-size B: the loss is the mean of B views', so its gradient is the mean of theirs.
  GaussianGrads grads = zeros_like(g_);
  GaussianGrads view_grads;
  if (batch > 1) view_grads = zeros_like(g_);
  double loss_sum = 0.0;
  for (int j = 0; j < batch; ++j) {
    const int64_t sample = static_cast<int64_t>(step) * batch + j;
    loss_sum += train_view(sample, step, sh_degree, batch > 1 ? view_grads : grads, read_loss);
    if (batch > 1)
      for (int i = 0; i < Gaussians::kGroups; ++i) axpy_(grads.group(i), 1.0f / batch, view_grads.group(i));
  }
  if (pose_ && pose_->optimising()) pose_->step(step), record_pose_error(step);
  if (bilagrid_) bilagrid_->step(step, 1.0f / batch);  // + 10 TV, its Adam
  mark("pose / grid step");

  // simple_trainer: loss += opacity_reg * mean(sigmoid(opacities)) + scale_reg * mean(exp(scales)), gradients here.
  Tensor reg_loss;
  if (cfg_.opacity_reg > 0 || cfg_.scale_reg > 0)
    reg_loss = add_opacity_scale_reg(g_, grads, cfg_.opacity_reg, cfg_.scale_reg);

  // simple_trainer order: optimizer steps, lr scheduler, then strategy.step_post_backward
  // (which returns at once from refine_stop_iter on).
  mark("regularisers");
  for (int i = 0; i < Gaussians::kGroups; ++i)
    adam_step(g_.group(i), grads.group(i), adam_[i], cfg_.adam_config(i, step, scene_scale_));
  mark("adam");
  RefineStats rs;
  if (mcmc_) {  // lr: the means' rate after the scheduler step (gsplat passes schedulers[0].get_last_lr())
    const MCMCStats ms = mcmc_->step_post_optimizer(step, g_, adam_, cfg_.adam_config(0, step + 1, scene_scale_).lr);
    if (verbose_ && ms.refined && (ms.relocated || ms.added))
      log_info("step " + std::to_string(step) + ": " + std::to_string(ms.relocated) + " relocated, " +
               std::to_string(ms.added) + " added, now " + std::to_string(g_.size()) + " GSs");
  } else {
    rs = strategy_->step_post_optimizer(step, g_, adam_);
  }
  mark("strategy");
  if (verbose_ && (rs.duplicated || rs.split || rs.pruned))
    log_info("step " + std::to_string(step) + ": " + std::to_string(rs.duplicated) + " duplicated, " +
             std::to_string(rs.split) + " split, " + std::to_string(rs.pruned) + " pruned, now " +
             std::to_string(g_.size()) + " GSs");
  if (!read_loss) return NAN;
  return static_cast<float>(loss_sum / batch) + (reg_loss.defined() ? reg_loss.item() : 0.0f) +
         (bilagrid_ ? bilagrid_->tv_loss().item() : 0.0f);
}

void Trainer::save_train_stats(int step, double elapsed) {
  nlohmann::json j = {{"mem", peak_mem_gb(device_)}, {"ellipse_time", elapsed}, {"num_GS", g_.size()}};
  const ImageCacheStats ic = images_->stats();
  j["image_cache"] = {{"hits", ic.hits},           {"misses", ic.misses},
                      {"evictions", ic.evictions}, {"peak_gb", ic.peak_bytes / double(1 << 30)},
                      {"budget_gb", images_->budget_bytes() / double(1 << 30)},
                      {"decode_seconds", ic.load_seconds},
                      {"gpu_hits", ic.gpu_hits},
                      {"gpu_uploads", ic.gpu_uploads},
                      {"gpu_resident_gb", ic.gpu_bytes / double(1 << 30)}};
  char name[64];
  std::snprintf(name, sizeof name, "train_step%04d.json", step);
  write_file_atomic(fs::path(cfg_.result_dir) / "stats" / name, j.dump());
}

// simple_trainer's TensorBoard scalars (ssimloss = 1 - SSIM, mem = peak GB) plus each group's learning rate.
void Trainer::log_tensorboard(int step) {
  tb_->add_scalar("train/loss", last_loss_.loss.item(), step);
  tb_->add_scalar("train/l1loss", last_loss_.l1.item(), step);
  tb_->add_scalar("train/ssimloss", 1.0 - last_loss_.ssim.item(), step);
  tb_->add_scalar("train/num_GS", static_cast<double>(g_.size()), step);
  tb_->add_scalar("train/mem", peak_mem_gb(device_), step);
  if (bilagrid_ && bilagrid_->tv_loss().defined())
    tb_->add_scalar("train/post_processing_reg_loss", bilagrid_->tv_loss().item(), step);
  for (int i = 0; i < Gaussians::kGroups; ++i)
    tb_->add_scalar(std::string("train/lr_") + Gaussians::group_name(i), cfg_.lr(i, step, scene_scale_), step);
  if (cfg_.tb_save_image && last_render_.defined()) {  // gsplat's canvas: GT | render side by side
    const Tensor gt = last_gt_.to(Device::cpu()), render = last_render_.to(Device::cpu());
    const int64_t H = gt.size(0), W = gt.size(1);
    Image canvas;
    canvas.width = static_cast<int>(2 * W);
    canvas.height = static_cast<int>(H);
    canvas.channels = 3;
    canvas.pixels.resize(static_cast<size_t>(2 * W * H * 3));
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < 2 * W; ++x)
        for (int c = 0; c < 3; ++c)
          canvas.pixels[static_cast<size_t>((y * 2 * W + x) * 3 + c)] =
              (x < W ? gt : render).data<float>()[(y * W + x % W) * 3 + c];
    tb_->add_image("train/render", canvas, step);
  }
  tb_->flush();
}

void Trainer::save_checkpoint_at(int step) {
  Checkpoint ck;
  ck.step = step;
  ck.gaussians = g_;
  for (int i = 0; i < Gaussians::kGroups; ++i) ck.adam[i] = adam_[i];
  ck.strategy = strategy_->state();
  ck.scene_scale = scene_scale_;
  ck.config_json = cfg_.to_json();
  std::ostringstream rng;
  rng << (mcmc_ ? mcmc_->rng() : strategy_->rng());
  ck.strategy_rng = rng.str();
  ck.run_id = run_id_;
  if (pose_ && pose_->optimising()) ck.pose_adjust = pose_->embeds(), ck.pose_adam = pose_->adam();
  if (bilagrid_) ck.bilateral_grids = bilagrid_->grids(), ck.bilateral_grid_adam = bilagrid_->adam();
  save_checkpoint(checkpoint_path(step), ck);
  last_ckpt_ = checkpoint_path(step);
  last_save_ = std::chrono::steady_clock::now();
}

// --save-every N steps or --save-every-min M minutes since the last checkpoint.
bool Trainer::periodic_save_due(int step) const {
  if (cfg_.save_every > 0 && (step + 1) % cfg_.save_every == 0) return true;
  return cfg_.save_every_min > 0 &&
         std::chrono::steady_clock::now() - last_save_ >= std::chrono::duration<double>(60.0 * cfg_.save_every_min);
}

// A periodic (or interrupt) checkpoint of `step` was written: drop this run's older ones beyond two.
void Trainer::keep_rolling(int step) {
  rolling_.push_back(step);
  while (rolling_.size() > 2) {
    std::error_code ec;
    fs::remove(checkpoint_path(rolling_.front()), ec);
    rolling_.erase(rolling_.begin());
  }
}

std::string Trainer::checkpoint_path(int step) const {
  return (fs::path(cfg_.result_dir) / "ckpts" / ("ckpt_" + std::to_string(step) + ".safetensors")).string();
}

// A signal arrived: the state after `step` goes to a checkpoint (unless this step already saved one).
void Trainer::stop_on_interrupt(int step, bool saved, double elapsed) {
  if (!saved) {
    save_train_stats(step, elapsed);
    save_checkpoint_at(step);
    keep_rolling(step);
  }
  if (tb_) tb_->flush();
  interrupt_step_ = step;
  interrupt_signal_ = vg::interrupt_signal();
  interrupt_ckpt_ = checkpoint_path(step);
  write_train_status(cfg_.result_dir, "interrupted", run_id_, step);
  log_warn("interrupted at step " + std::to_string(step + 1) + " of " + std::to_string(cfg_.max_steps) +
           ": checkpoint " + interrupt_ckpt_ + "; resume with: " +
           (resume_cmd_.empty() ? resume_command(cfg_, interrupt_ckpt_) : resume_cmd_));
}

// --profile-every: the stage table logged and stats/profile.json.
void Trainer::write_profile() {
  if (!prof_ || prof_->profiled_steps() == 0) return;
  log_info("where a training step's time goes (every " + std::to_string(cfg_.profile_every) + "th step):\n" +
           prof_->table());
  nlohmann::json j = prof_->to_json();
  j["device"] = device_.str();
  write_file_atomic(fs::path(cfg_.result_dir) / "stats" / "profile.json", j.dump(2) + "\n");
}

// --pose-opt / --pose-noise: poses/train_poses_<step>.json (splat/pose_opt.h), the pose error logged.
void Trainer::write_poses(int step) {
  if (!pose_) return;
  std::vector<std::string> names;
  std::vector<Camera> given;
  for (const View& v : data_.train) names.push_back(v.name), given.push_back(v.camera);
  const fs::path file = fs::path(cfg_.result_dir) / "poses" / ("train_poses_" + std::to_string(step) + ".json");
  write_pose_report(file, *pose_, pose_config(cfg_), names, given, data_.transform, step);
  const PoseOptimizer::Error e = pose_->error_vs(given);
  write_pose_history();
  char line[320];
  std::snprintf(line, sizeof line,
                "training cameras %s given: rotation %.4f deg mean (%.4f max), centre %.5f; after similarity "
                "alignment %.4f deg (%.4f max), %.5f; %s",
                cfg_.pose_noise > 0 ? "vs the" : "moved from the", e.rot_mean_deg, e.rot_max_deg, e.trans_mean,
                e.rot_mean_aligned_deg, e.rot_max_aligned_deg, e.trans_mean_aligned, file.string().c_str());
  log_info(line);
}

static const char* const kPoseHistoryKeys[7] = {"step",        "rotation_mean_deg",         "rotation_max_deg",
                                                "center_mean", "rotation_mean_deg_aligned", "rotation_max_deg_aligned",
                                                "center_mean_aligned"};

// poses/error_history.json: the training cameras' error every 100 steps (with --pose-noise).
void Trainer::write_pose_history() const {
  if (pose_history_.empty()) return;
  nlohmann::json h = nlohmann::json::array();
  for (const auto& r : pose_history_) {
    nlohmann::json e = {{"step", static_cast<int>(r[0])}};
    for (int k = 1; k < 7; ++k) e[kPoseHistoryKeys[k]] = r[k];
    h.push_back(e);
  }
  write_file_atomic(fs::path(cfg_.result_dir) / "poses" / "error_history.json", h.dump(1) + "\n");
}

// A resumed run keeps the history its earlier part wrote (the entries before the resumed step).
void Trainer::load_pose_history() {
  const fs::path file = fs::path(cfg_.result_dir) / "poses" / "error_history.json";
  if (cfg_.pose_noise <= 0 || !fs::exists(file)) return;
  try {
    std::ifstream in(file);
    for (const auto& e : nlohmann::json::parse(in)) {
      std::array<double, 7> r{};
      for (int k = 0; k < 7; ++k) r[k] = e.at(kPoseHistoryKeys[k]).get<double>();
      if (r[0] < start_step_) pose_history_.push_back(r);
    }
  } catch (const std::exception& ex) {
    pose_history_.clear();
    log_warn(file.string() + " unreadable (" + ex.what() + "): the error history restarts at the resumed step");
  }
}

void Trainer::record_pose_error(int step) {
  if (cfg_.pose_noise <= 0 || step % 100 != 0) return;  // the truth is known only for perturbed cameras
  std::vector<Camera> given;
  for (const View& v : data_.train) given.push_back(v.camera);
  const PoseOptimizer::Error e = pose_->error_vs(given);
  pose_history_.push_back({double(step), e.rot_mean_deg, e.rot_max_deg, e.trans_mean, e.rot_mean_aligned_deg,
                           e.rot_max_aligned_deg, e.trans_mean_aligned});
  if (tb_) tb_->add_scalar("train/pose_error_deg", e.rot_mean_aligned_deg, step);
  if (step % 1000 == 0) write_pose_history();  // kept up to date: an interrupted run keeps it
}

void Trainer::save_ply_at(int step) {
  // io's write_ply_3dgs takes the dataset's world -> normalised transform and applies its inverse.
  write_ply_3dgs(fs::path(cfg_.result_dir) / "ply" / ("point_cloud_" + std::to_string(step) + ".ply"),
                 g_.to(Device::cpu()), data_.transform);
}

void Trainer::render_traj(int step) {
  if (cfg_.disable_video) return;
  if (!video_supported()) {
    log_warn(std::string("no trajectory video: ") + video_unsupported_message());
    return;
  }
  try {  // a video that cannot be made must not end a finished training
    const std::vector<Camera> cams = trajectory_cameras(data_, parse_traj_path(cfg_.render_traj_path), scene_scale_);
    write_trajectory_video(fs::path(cfg_.result_dir) / "videos" / ("traj_" + std::to_string(step) + ".mp4"), g_, cams,
                           cfg_.sh_degree, cfg_);
  } catch (const Error& e) {
    log_warn(std::string("no trajectory video: ") + e.what());
  }
}

// The progress bar's fields after `step`: loss, SH degree, Gaussians, peak GPU memory.
std::string Trainer::progress_fields(float loss, int step) const {
  char fields[160];
  std::snprintf(fields, sizeof fields, "loss=%.4f sh=%d GS=%s", loss,
                std::min(step / cfg_.sh_degree_interval, cfg_.sh_degree), fmt_count(g_.size()).c_str());
  std::string f = fields;
  if (device_.is_cuda()) {
    char mem[32];
    std::snprintf(mem, sizeof mem, " mem=%.2fGB", peak_mem_gb(device_));
    f += mem;
  }
  return f;
}

// Checkpoints due after `step` (--save-steps, the last step, --save-every/-min); true when one was written.
bool Trainer::save_points(int step, double elapsed) {
  const bool listed = is_listed(cfg_.save_steps, step) || step == cfg_.max_steps - 1;
  const bool periodic = !listed && periodic_save_due(step);
  if (listed) save_train_stats(step, elapsed);
  if (listed || periodic) save_checkpoint_at(step);
  if (periodic) keep_rolling(step);
  return listed || periodic;
}

// PLY, evaluation (+ its TensorBoard scalars) and trajectory video due after `step`.
void Trainer::output_points(int step, std::optional<EvalStats>& last) {
  const bool last_step = step == cfg_.max_steps - 1;
  if (cfg_.save_ply && (is_listed(cfg_.ply_steps, step) || last_step)) save_ply_at(step);
  if (is_listed(cfg_.eval_steps, step)) {
    last = evaluate(step);
    if (tb_) {  // simple_trainer.eval's "val/<metric>" scalars
      tb_->add_scalar("val/psnr", last->psnr, step);
      tb_->add_scalar("val/ssim", last->ssim, step);
      if (last->lpips) tb_->add_scalar("val/lpips", *last->lpips, step);
      tb_->add_scalar("val/ellipse_time", last->ellipse_time, step);
      tb_->add_scalar("val/num_GS", static_cast<double>(last->num_gs), step);
      tb_->flush();
    }
  }
  if (is_listed(cfg_.eval_steps, step) || last_step) render_traj(step);  // gsplat: after each eval
}

// One line for an allocation that failed in `step`: what, where, what survives, what to change.
void Trainer::rethrow_out_of_memory(const std::exception& e, int step) const {
  const bool host = dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
  std::string msg = "out of memory in training step " + std::to_string(step + 1) + " (" + fmt_count(g_.size()) +
                    " Gaussians): " + (host ? "out of host memory (std::bad_alloc)" : e.what());
  msg += last_ckpt_.empty() ? "; no checkpoint was written yet" : "; the last checkpoint " + last_ckpt_ + " is intact";
  msg += "; to fit: a larger --data-factor (now " + std::to_string(cfg_.data_factor) +
         "), fewer Gaussians (--max-gaussians, or a higher --grow-grad2d or --prune-opa)" + (device_.is_cuda() ? ", or --device cpu" : "");
  throw OutOfMemory(msg);
}

std::optional<EvalStats> Trainer::run() {
  fs::create_directories(cfg_.result_dir);
  if (cfg_.eval_only) {
    VG_CHECK(!cfg_.ckpt.empty(), "--eval-only needs --ckpt FILE");
    EvalStats st = evaluate(start_step_ - 1);
    render_traj(start_step_ - 1);
    return st;
  }
  write_file_atomic(fs::path(cfg_.result_dir) / "cfg.yml", cfg_.to_yaml());
  write_train_status(cfg_.result_dir, "running", run_id_, start_step_);
  if (device_.is_cuda()) cuda_reset_peak_memory(device_.index);
  std::optional<EvalStats> last;
  if (cfg_.tb_every > 0) tb_ = std::make_unique<TbEventWriter>(fs::path(cfg_.result_dir) / "tb");
  interrupt_ckpt_.clear();
  interrupt_step_ = -1;
  if (!cfg_.ckpt.empty()) last_ckpt_ = cfg_.ckpt;
  last_save_ = std::chrono::steady_clock::now();
  InterruptGuard guard;  // Ctrl-C: finish the step, checkpoint, return (a second one exits at once)
  prof_ = cfg_.profile_every > 0 ? std::make_unique<StageProfiler>(device_, cfg_.profile_every) : nullptr;
  ProgressBar bar("train", cfg_.max_steps);
  float loss = NAN;
  for (int step = start_step_; step < cfg_.max_steps; ++step) {
    bool read = step % 10 == 0 || step == cfg_.max_steps - 1;
    bool saved = false;
    try {
      if (prof_) prof_->begin(step);
      float l = train_step(step, read);
      if (prof_) prof_->end();
      if (read) loss = l;
      if (tb_ && step % cfg_.tb_every == 0) log_tensorboard(step);
      bar.update(step + 1, progress_fields(loss, step));
      saved = save_points(step, bar.elapsed_seconds());
      output_points(step, last);
    } catch (const OutOfMemory& e) {
      rethrow_out_of_memory(e, step);
    } catch (const std::bad_alloc& e) {
      rethrow_out_of_memory(e, step);
    }
    if (on_step_) on_step_(step);
    if (vg::interrupted() && step != cfg_.max_steps - 1) {  // the signal flag (core/interrupt.h)
      bar.finish();
      stop_on_interrupt(step, saved, bar.elapsed_seconds());
      return last;
    }
  }
  bar.finish();
  write_profile();
  if (start_step_ == cfg_.max_steps) output_points(cfg_.max_steps - 1, last);  // resumed after the last checkpoint
  write_poses(cfg_.max_steps - 1);
  write_train_status(cfg_.result_dir, "complete", run_id_, cfg_.max_steps);
  return last;
}

}  // namespace vg
