#include "splat/train_config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace vg {

using nlohmann::json;

void TrainConfig::adjust_steps(float factor) {
  auto scale = [factor](int v) { return static_cast<int>(v * factor); };
  for (int& s : eval_steps) s = scale(s);
  for (int& s : save_steps) s = scale(s);
  for (int& s : ply_steps) s = scale(s);
  max_steps = scale(max_steps);
  sh_degree_interval = scale(sh_degree_interval);
  strategy.refine_start_iter = scale(strategy.refine_start_iter);
  strategy.refine_stop_iter = scale(strategy.refine_stop_iter);
  strategy.reset_every = scale(strategy.reset_every);
  strategy.refine_every = scale(strategy.refine_every);
  mcmc.refine_start_iter = scale(mcmc.refine_start_iter);
  mcmc.refine_stop_iter = scale(mcmc.refine_stop_iter);
  mcmc.refine_every = scale(mcmc.refine_every);
  if (mcmc.noise_injection_stop_iter >= 0) mcmc.noise_injection_stop_iter = scale(mcmc.noise_injection_stop_iter);
}

double TrainConfig::lr(int group, int step, float scene_scale) const {
  switch (group) {
    case 0: {
      // torch ExponentialLR(gamma = 0.01^(1/max_steps)), stepped once after every optimizer step.
      double gamma = std::pow(0.01, 1.0 / max_steps);
      return static_cast<double>(means_lr) * scene_scale * std::pow(gamma, step);
    }
    case 1: return scales_lr;
    case 2: return quats_lr;
    case 3: return opacities_lr;
    case 4: return sh0_lr;
    case 5: return shN_lr;
  }
  VG_FAIL("no parameter group ", group);
}

AdamConfig TrainConfig::adam_config(int group, int step, float scene_scale) const {
  AdamConfig ac;
  const double b = batch_size, root = std::sqrt(b);
  ac.lr = static_cast<float>(lr(group, step, scene_scale) * root);
  if (batch_size > 1) {  // simple_trainer create_splats_with_optimizers; beta1 held at >= 0 from B = 10 on
    ac.eps = static_cast<float>(1e-15 / root);
    ac.beta1 = static_cast<float>(std::max(0.0, 1.0 - b * (1.0 - 0.9)));
    ac.beta2 = static_cast<float>(std::max(0.0, 1.0 - b * (1.0 - 0.999)));
  }
  return ac;
}

void TrainConfig::validate() const {
  VG_CHECK(batch_size >= 1, "--batch-size must be >= 1, got ", batch_size);
  VG_CHECK(max_steps > 0, "--max-steps must be > 0 (after --steps-scaler), got ", max_steps);
  VG_CHECK(data_factor >= 1, "--data-factor must be >= 1, got ", data_factor);
  VG_CHECK(test_every >= 1, "--test-every must be >= 1, got ", test_every);
  VG_CHECK(init_type == "sfm" || init_type == "random", "--init-type must be sfm or random, got '", init_type, "'");
  VG_CHECK(render_traj_path == "interp" || render_traj_path == "ellipse" || render_traj_path == "spiral",
           "--render-traj-path must be interp, ellipse or spiral, got '", render_traj_path, "'");
  VG_CHECK(init_num_pts > 0, "--init-num-pts must be > 0");
  VG_CHECK(strategy.max_gaussians >= 0, "--max-gaussians must be >= 0 (0: no cap), got ", strategy.max_gaussians);
  VG_CHECK(save_every >= 0 && save_every_min >= 0, "--save-every and --save-every-min must be >= 0");
  VG_CHECK(image_cache_gb >= 0 || image_cache_gb == -1, "--image-cache-gb must be >= 0 (or -1: half the memory)");
  VG_CHECK(image_cache_gpu_gb >= 0 || image_cache_gpu_gb == -1,
           "--image-cache-gpu-gb must be >= 0 (or -1: 1/8 of the GPU's memory, at most 8 GiB)");
  VG_CHECK(image_prefetch >= 0, "--image-prefetch must be >= 0, got ", image_prefetch);
  VG_CHECK(profile_every >= 0, "--profile-every must be >= 0, got ", profile_every);
  VG_CHECK(sh_degree >= 0 && sh_degree <= 3, "--sh-degree must be in 0..3, got ", sh_degree);
  VG_CHECK(sh_degree_interval > 0, "--sh-degree-interval must be > 0 (after --steps-scaler)");
  VG_CHECK(init_opa > 0 && init_opa < 1, "--init-opa must be in (0, 1), got ", init_opa);
  VG_CHECK(init_scale > 0, "--init-scale must be > 0");
  VG_CHECK(ssim_lambda >= 0 && ssim_lambda <= 1, "--ssim-lambda must be in [0, 1]");
  VG_CHECK(pose_opt_start >= 0, "--pose-opt-start must be >= 0, got ", pose_opt_start);
  VG_CHECK(pose_opt_lr_final > 0 && pose_opt_lr_final <= 1, "--pose-opt-lr-final must be in (0, 1], got ",
           pose_opt_lr_final);
  VG_CHECK(pose_opt_lr >= 0 && pose_opt_reg >= 0 && pose_noise >= 0,
           "--pose-opt-lr, --pose-opt-reg and --pose-noise must be >= 0");
  VG_CHECK(color_correct_method == "affine" || color_correct_method == "quadratic",
           "--color-correct-method must be affine or quadratic, not '", color_correct_method, "'");
  VG_CHECK(eval_pose_opt_steps >= 0 && eval_pose_opt_lr > 0, "--eval-pose-opt-steps must be >= 0 and --eval-pose-opt-lr > 0");
  VG_CHECK(strategy.refine_every > 0 && strategy.reset_every > 0,
           "refine_every and reset_every must be > 0 (after --steps-scaler)");
  VG_CHECK(strategy_type == "default" || strategy_type == "mcmc", "--strategy must be default or mcmc, got '",
           strategy_type, "'");
  if (strategy_type == "mcmc") {
    VG_CHECK(mcmc.cap_max > 0, "--cap-max must be > 0, got ", mcmc.cap_max);
    VG_CHECK(mcmc.refine_every > 0, "mcmc refine_every must be > 0 (after --steps-scaler)");
    VG_CHECK(mcmc.min_opacity > 0 && mcmc.min_opacity < 1, "--min-opacity must be in (0, 1), got ", mcmc.min_opacity);
    VG_CHECK(mcmc.noise_lr >= 0, "--noise-lr must be >= 0, got ", mcmc.noise_lr);
  }
  VG_CHECK(opacity_reg >= 0 && scale_reg >= 0, "--opacity-reg and --scale-reg must be >= 0");
  VG_CHECK(post_processing == "none" || post_processing == "bilateral_grid",
           "--post-processing must be none or bilateral_grid, got '", post_processing, "'");
  VG_CHECK(bilateral_grid_shape[0] >= 1 && bilateral_grid_shape[1] >= 1 && bilateral_grid_shape[2] >= 1,
           "--bilateral-grid-shape must be three sizes >= 1 (X,Y,W)");
  VG_CHECK(bilateral_grid_lr >= 0 && bilateral_grid_warmup >= 0,
           "--bilateral-grid-lr and --bilateral-grid-warmup must be >= 0");
}

namespace {

json to_json_obj(const TrainConfig& c) {
  const StrategyConfig& s = c.strategy;
  json strat = {{"prune_opa", s.prune_opa},
                {"grow_grad2d", s.grow_grad2d},
                {"grow_scale3d", s.grow_scale3d},
                {"prune_scale3d", s.prune_scale3d},
                {"refine_start_iter", s.refine_start_iter},
                {"refine_stop_iter", s.refine_stop_iter},
                {"reset_every", s.reset_every},
                {"refine_every", s.refine_every},
                {"pause_refine_after_reset", s.pause_refine_after_reset},
                {"absgrad", s.absgrad},
                {"revised_opacity", s.revised_opacity},
                {"max_gaussians", s.max_gaussians}};
  const MCMCConfig& m = c.mcmc;
  json mcmc = {{"cap_max", m.cap_max},
               {"noise_lr", m.noise_lr},
               {"refine_start_iter", m.refine_start_iter},
               {"refine_stop_iter", m.refine_stop_iter},
               {"refine_every", m.refine_every},
               {"min_opacity", m.min_opacity},
               {"noise_injection_stop_iter", m.noise_injection_stop_iter}};
  return json{{"data_dir", c.data_dir},
              {"result_dir", c.result_dir},
              {"data_factor", c.data_factor},
              {"test_every", c.test_every},
              {"global_scale", c.global_scale},
              {"normalize_world_space", c.normalize_world_space},
              {"background", c.background},
              {"max_steps", c.max_steps},
              {"eval_steps", c.eval_steps},
              {"save_steps", c.save_steps},
              {"save_every", c.save_every},
              {"save_every_min", c.save_every_min},
              {"save_ply", c.save_ply},
              {"ply_steps", c.ply_steps},
              {"steps_scaler", c.steps_scaler},
              {"batch_size", c.batch_size},
              {"tb_every", c.tb_every},
              {"image_cache_gb", c.image_cache_gb},
              {"image_prefetch", c.image_prefetch},
              {"image_cache_gpu_gb", c.image_cache_gpu_gb},
              {"profile_every", c.profile_every},
              {"tb_save_image", c.tb_save_image},
              {"disable_viewer", c.disable_viewer},
              {"render_traj_path", c.render_traj_path},
              {"disable_video", c.disable_video},
              {"init_type", c.init_type},
              {"init_num_pts", c.init_num_pts},
              {"init_extent", c.init_extent},
              {"init_aabb", c.init_aabb},
              {"init_opa", c.init_opa},
              {"init_scale", c.init_scale},
              {"sh_degree", c.sh_degree},
              {"sh_degree_interval", c.sh_degree_interval},
              {"ssim_lambda", c.ssim_lambda},
              {"near_plane", c.near_plane},
              {"far_plane", c.far_plane},
              {"antialiased", c.antialiased},
              {"tight_tiles", c.tight_tiles},
              {"means_lr", c.means_lr},
              {"scales_lr", c.scales_lr},
              {"opacities_lr", c.opacities_lr},
              {"quats_lr", c.quats_lr},
              {"sh0_lr", c.sh0_lr},
              {"shN_lr", c.shN_lr},
              {"strategy", strat},
              {"strategy_type", c.strategy_type},
              {"mcmc", mcmc},
              {"opacity_reg", c.opacity_reg},
              {"scale_reg", c.scale_reg},
              {"pose_opt", c.pose_opt},
              {"pose_opt_lr", c.pose_opt_lr},
              {"pose_opt_reg", c.pose_opt_reg},
              {"pose_noise", c.pose_noise},
              {"pose_opt_start", c.pose_opt_start},
              {"pose_opt_lr_final", c.pose_opt_lr_final},
              {"use_color_correction_metric", c.use_color_correction_metric},
              {"color_correct_method", c.color_correct_method},
              {"eval_pose_align", c.eval_pose_align},
              {"eval_pose_opt_steps", c.eval_pose_opt_steps},
              {"eval_pose_opt_lr", c.eval_pose_opt_lr},
              {"post_processing", c.post_processing},
              {"bilateral_grid_shape", c.bilateral_grid_shape},
              {"bilateral_grid_lr", c.bilateral_grid_lr},
              {"bilateral_grid_warmup", c.bilateral_grid_warmup},
              {"seed", c.seed},
              {"device", c.device},
              {"ckpt", c.ckpt},
              {"eval_only", c.eval_only},
              {"restart", c.restart},
              {"lpips_weights", c.lpips_weights}};
}

template <typename T>
void get(const json& j, const char* key, T& out) {
  if (j.contains(key)) out = j.at(key).get<T>();
}

std::string yaml_scalar(const json& v) {
  if (v.is_string()) return json(v.get<std::string>()).dump();  // JSON string quoting is valid YAML
  if (v.is_number_float()) {
    // Options are floats: 7 significant digits; always a '.' so YAML 1.1 readers (PyYAML) see a float.
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.7g", v.get<double>());
    std::string s = buf;
    if (s.find_first_of(".n") != std::string::npos) return s;
    size_t e = s.find_first_of("eE");
    return e == std::string::npos ? s + ".0" : s.insert(e, ".0");
  }
  return v.dump();
}

void write_yaml(std::ostringstream& os, const json& obj, int indent) {
  std::string pad(indent, ' ');
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const json& v = it.value();
    os << pad << it.key() << ":";
    if (v.is_object()) {
      os << "\n";
      write_yaml(os, v, indent + 2);
    } else if (v.is_array()) {
      os << " [";
      for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << yaml_scalar(v[i]);
      os << "]\n";
    } else {
      os << " " << yaml_scalar(v) << "\n";
    }
  }
}

}  // namespace

std::string TrainConfig::to_yaml() const {
  std::ostringstream os;
  write_yaml(os, to_json_obj(*this), 0);
  return os.str();
}

std::string TrainConfig::to_json() const { return to_json_obj(*this).dump(); }

TrainConfig TrainConfig::from_json(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    VG_FAIL("bad training config JSON: ", e.what());
  }
  TrainConfig c;
  get(j, "data_dir", c.data_dir);
  get(j, "result_dir", c.result_dir);
  get(j, "data_factor", c.data_factor);
  get(j, "test_every", c.test_every);
  get(j, "global_scale", c.global_scale);
  get(j, "normalize_world_space", c.normalize_world_space);
  get(j, "background", c.background);
  get(j, "max_steps", c.max_steps);
  get(j, "eval_steps", c.eval_steps);
  get(j, "save_steps", c.save_steps);
  get(j, "save_every", c.save_every);
  get(j, "save_every_min", c.save_every_min);
  get(j, "save_ply", c.save_ply);
  get(j, "ply_steps", c.ply_steps);
  get(j, "steps_scaler", c.steps_scaler);
  get(j, "batch_size", c.batch_size);
  get(j, "tb_every", c.tb_every);
  get(j, "image_cache_gb", c.image_cache_gb);
  get(j, "image_prefetch", c.image_prefetch);
  get(j, "image_cache_gpu_gb", c.image_cache_gpu_gb);
  get(j, "profile_every", c.profile_every);
  get(j, "tb_save_image", c.tb_save_image);
  get(j, "disable_viewer", c.disable_viewer);
  get(j, "render_traj_path", c.render_traj_path);
  get(j, "disable_video", c.disable_video);
  get(j, "init_type", c.init_type);
  get(j, "init_num_pts", c.init_num_pts);
  get(j, "init_extent", c.init_extent);
  get(j, "init_aabb", c.init_aabb);
  get(j, "init_opa", c.init_opa);
  get(j, "init_scale", c.init_scale);
  get(j, "sh_degree", c.sh_degree);
  get(j, "sh_degree_interval", c.sh_degree_interval);
  get(j, "ssim_lambda", c.ssim_lambda);
  get(j, "near_plane", c.near_plane);
  get(j, "far_plane", c.far_plane);
  get(j, "antialiased", c.antialiased);
  get(j, "tight_tiles", c.tight_tiles);
  get(j, "means_lr", c.means_lr);
  get(j, "scales_lr", c.scales_lr);
  get(j, "opacities_lr", c.opacities_lr);
  get(j, "quats_lr", c.quats_lr);
  get(j, "sh0_lr", c.sh0_lr);
  get(j, "shN_lr", c.shN_lr);
  if (j.contains("strategy")) {
    const json& s = j.at("strategy");
    StrategyConfig& o = c.strategy;
    get(s, "prune_opa", o.prune_opa);
    get(s, "grow_grad2d", o.grow_grad2d);
    get(s, "grow_scale3d", o.grow_scale3d);
    get(s, "prune_scale3d", o.prune_scale3d);
    get(s, "refine_start_iter", o.refine_start_iter);
    get(s, "refine_stop_iter", o.refine_stop_iter);
    get(s, "reset_every", o.reset_every);
    get(s, "refine_every", o.refine_every);
    get(s, "pause_refine_after_reset", o.pause_refine_after_reset);
    get(s, "absgrad", o.absgrad);
    get(s, "revised_opacity", o.revised_opacity);
    get(s, "max_gaussians", o.max_gaussians);
  }
  get(j, "strategy_type", c.strategy_type);
  if (j.contains("mcmc")) {
    const json& s = j.at("mcmc");
    MCMCConfig& o = c.mcmc;
    get(s, "cap_max", o.cap_max);
    get(s, "noise_lr", o.noise_lr);
    get(s, "refine_start_iter", o.refine_start_iter);
    get(s, "refine_stop_iter", o.refine_stop_iter);
    get(s, "refine_every", o.refine_every);
    get(s, "min_opacity", o.min_opacity);
    get(s, "noise_injection_stop_iter", o.noise_injection_stop_iter);
  }
  get(j, "opacity_reg", c.opacity_reg);
  get(j, "scale_reg", c.scale_reg);
  get(j, "pose_opt", c.pose_opt);
  get(j, "pose_opt_lr", c.pose_opt_lr);
  get(j, "pose_opt_reg", c.pose_opt_reg);
  get(j, "pose_noise", c.pose_noise);
  get(j, "pose_opt_start", c.pose_opt_start);
  get(j, "pose_opt_lr_final", c.pose_opt_lr_final);
  get(j, "use_color_correction_metric", c.use_color_correction_metric);
  get(j, "color_correct_method", c.color_correct_method);
  get(j, "eval_pose_align", c.eval_pose_align);
  get(j, "eval_pose_opt_steps", c.eval_pose_opt_steps);
  get(j, "eval_pose_opt_lr", c.eval_pose_opt_lr);
  get(j, "post_processing", c.post_processing);
  get(j, "bilateral_grid_shape", c.bilateral_grid_shape);
  get(j, "bilateral_grid_lr", c.bilateral_grid_lr);
  get(j, "bilateral_grid_warmup", c.bilateral_grid_warmup);
  get(j, "seed", c.seed);
  get(j, "device", c.device);
  get(j, "ckpt", c.ckpt);
  get(j, "eval_only", c.eval_only);
  get(j, "restart", c.restart);
  get(j, "lpips_weights", c.lpips_weights);
  return c;
}

}  // namespace vg
