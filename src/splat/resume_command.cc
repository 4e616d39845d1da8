#include "splat/resume_command.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace vg {

namespace {

// Single-quoted for a POSIX shell when the word has anything beyond [A-Za-z0-9_./:=,+-].
std::string shell_word(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string("_./:=,+-").find(c) != std::string::npos))
      plain = false;
  if (plain) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

template <typename T>
void flag_if(std::ostringstream& os, const char* name, const T& value, const T& dflt) {
  if (!(value == dflt)) os << ' ' << name << ' ' << value;
}

// cfg's step counts are already scaled (TrainConfig::adjust_steps: int(v * factor)): a --max-steps that
// scales back to exactly `scaled`.
int unscaled_steps(int scaled, float factor) {
  const int k0 = static_cast<int>(std::floor(scaled / static_cast<double>(factor)));
  for (int k = std::max(0, k0 - 2); k <= k0 + 2; ++k)
    if (static_cast<int>(k * factor) == scaled) return k;
  return k0;
}

}  // namespace

std::string resume_command(const TrainConfig& cfg, const std::string& ckpt) {
  const TrainConfig d;
  std::ostringstream os;
  os << "vgsplat train --data-dir " << shell_word(cfg.data_dir) << " --result-dir " << shell_word(cfg.result_dir);
  flag_if(os, "--data-factor", cfg.data_factor, d.data_factor);
  flag_if(os, "--test-every", cfg.test_every, d.test_every);
  if (cfg.steps_scaler != 1.0f) {
    os << " --max-steps " << unscaled_steps(cfg.max_steps, cfg.steps_scaler) << " --steps-scaler "
       << std::setprecision(9) << cfg.steps_scaler;
  } else {
    flag_if(os, "--max-steps", cfg.max_steps, d.max_steps);
  }
  flag_if(os, "--sh-degree", cfg.sh_degree, d.sh_degree);
  flag_if(os, "--batch-size", cfg.batch_size, d.batch_size);
  flag_if(os, "--seed", cfg.seed, d.seed);
  if (cfg.save_ply) os << " --save-ply";
  if (cfg.antialiased) os << " --antialiased";
  if (cfg.strategy.absgrad) os << " --absgrad";
  if (cfg.strategy_type != d.strategy_type) {  // the mcmc preset's values come back from --strategy itself
    os << " --strategy " << shell_word(cfg.strategy_type);
    flag_if(os, "--cap-max", cfg.mcmc.cap_max, d.mcmc.cap_max);
    flag_if(os, "--noise-lr", cfg.mcmc.noise_lr, d.mcmc.noise_lr);
    flag_if(os, "--min-opacity", cfg.mcmc.min_opacity, d.mcmc.min_opacity);
    flag_if(os, "--noise-injection-stop-iter", cfg.mcmc.noise_injection_stop_iter, d.mcmc.noise_injection_stop_iter);
  }
  if (cfg.pose_opt) os << " --pose-opt";
  flag_if(os, "--pose-opt-lr", cfg.pose_opt_lr, d.pose_opt_lr);
  flag_if(os, "--pose-opt-reg", cfg.pose_opt_reg, d.pose_opt_reg);
  flag_if(os, "--pose-noise", cfg.pose_noise, d.pose_noise);
  flag_if(os, "--pose-opt-start", cfg.pose_opt_start, d.pose_opt_start);
  flag_if(os, "--pose-opt-lr-final", cfg.pose_opt_lr_final, d.pose_opt_lr_final);
  flag_if(os, "--profile-every", cfg.profile_every, d.profile_every);
  if (!cfg.eval_pose_align) os << " --no-eval-pose-align";
  if (cfg.use_color_correction_metric) os << " --use-color-correction-metric";
  if (cfg.color_correct_method != d.color_correct_method) os << " --color-correct-method " << shell_word(cfg.color_correct_method);
  flag_if(os, "--eval-pose-opt-steps", cfg.eval_pose_opt_steps, d.eval_pose_opt_steps);
  flag_if(os, "--eval-pose-opt-lr", cfg.eval_pose_opt_lr, d.eval_pose_opt_lr);
  if (cfg.post_processing != d.post_processing) {
    os << " --post-processing " << shell_word(cfg.post_processing);
    if (cfg.bilateral_grid_shape != d.bilateral_grid_shape)
      os << " --bilateral-grid-shape " << cfg.bilateral_grid_shape[0] << ',' << cfg.bilateral_grid_shape[1] << ','
         << cfg.bilateral_grid_shape[2];
    flag_if(os, "--bilateral-grid-lr", cfg.bilateral_grid_lr, d.bilateral_grid_lr);
    flag_if(os, "--bilateral-grid-warmup", cfg.bilateral_grid_warmup, d.bilateral_grid_warmup);
  }
  if (cfg.device != d.device) os << " --device " << shell_word(cfg.device);
  os << " --ckpt " << shell_word(ckpt);
  return os.str();
}

std::vector<std::string> process_arguments() {
  std::ifstream is("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> out;
  for (std::string w; std::getline(is, w, '\0');) out.push_back(w);
  return out;
}

std::string shell_command(const std::vector<std::string>& argv, const std::vector<std::string>& drop_flags,
                          const std::vector<std::string>& drop_options) {
  auto has = [](const std::vector<std::string>& v, const std::string& w) {
    return std::find(v.begin(), v.end(), w) != v.end();
  };
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (has(drop_flags, w)) continue;
    if (has(drop_options, w)) {
      ++i;  // and its value
      continue;
    }
    const size_t eq = w.find('=');
    if (eq != std::string::npos && has(drop_options, w.substr(0, eq))) continue;
    out += (out.empty() ? "" : " ") + shell_word(w);
  }
  return out;
}

}  // namespace vg
