#include "splat/train_resume.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/progress.h"
#include "io/safetensors.h"

namespace vg {

using nlohmann::json;

namespace {

std::string this_host() {
  char buf[256] = {0};
  return ::gethostname(buf, sizeof(buf) - 1) == 0 ? buf : "unknown";
}

// Options that leave the trained model unchanged: they may differ between a run and its resumption.
bool ignored_key(const std::string& k) {
  static const std::set<std::string> keys = {
      "result_dir", "ckpt",          "eval_only",      "restart",          "device",         "lpips_weights",
      "tb_every",   "tb_save_image", "disable_viewer", "render_traj_path", "disable_video",  "save_ply",
      "ply_steps",  "eval_steps",    "save_steps",     "save_every",       "save_every_min", "image_cache_gb",
      "image_prefetch", "image_cache_gpu_gb", "eval_pose_align", "profile_every", "use_color_correction_metric", "color_correct_method", "eval_pose_opt_steps", "eval_pose_opt_lr"};
  return keys.count(k) || k.rfind("viewer", 0) == 0;
}

void diff_json(const json& a, const json& b, const std::string& prefix, std::vector<std::string>& out) {
  std::set<std::string> keys;
  for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
  for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
  for (const std::string& k : keys) {
    if (prefix.empty() && ignored_key(k)) continue;
    const json va = a.contains(k) ? a[k] : json(), vb = b.contains(k) ? b[k] : json();
    if (va.is_object() && vb.is_object()) {
      diff_json(va, vb, prefix + k + ".", out);
    } else if (va != vb) {
      out.push_back(prefix + k + ": " + (va.is_null() ? "(none)" : va.dump()) + " -> " +
                    (vb.is_null() ? "(none)" : vb.dump()));
    }
  }
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace

std::string new_run_id() {
  static std::atomic<int> counter{0};
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return std::string(buf) + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

void write_train_status(const fs::path& result_dir, const std::string& status, const std::string& run_id, int step) {
  const json j = {{"status", status}, {"run_id", run_id}, {"pid", static_cast<int>(::getpid())},
                  {"host", this_host()}, {"step", step}};
  write_file_atomic(result_dir / "train_status.json", j.dump(2) + "\n");
}

std::vector<std::pair<int, fs::path>> list_checkpoints(const fs::path& result_dir) {
  std::vector<std::pair<int, fs::path>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(result_dir / "ckpts", ec)) {
    const std::string n = e.path().filename().string();
    const std::string pre = "ckpt_", post = ".safetensors";
    if (n.size() <= pre.size() + post.size() || n.rfind(pre, 0) != 0 ||
        n.compare(n.size() - post.size(), post.size(), post) != 0)
      continue;
    const std::string digits = n.substr(pre.size(), n.size() - pre.size() - post.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    out.emplace_back(std::stoi(digits), e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string checkpoint_run_id(const fs::path& ckpt) {
  try {
    const SafetensorsFile st = SafetensorsFile::open(ckpt);
    auto it = st.metadata().find("run_id");
    return it == st.metadata().end() ? "" : it->second;
  } catch (const Error&) {
    return "";
  }
}

std::vector<std::string> config_differences(const std::string& saved_json, const TrainConfig& now) {
  json a, b = json::parse(now.to_json());
  try {
    a = json::parse(saved_json);
  } catch (const std::exception& e) {
    VG_FAIL("the checkpoint's training config is not JSON: ", e.what());
  }
  a = json::parse(TrainConfig::from_json(saved_json).to_json());  // options it predates take their defaults
  for (json* j : {&a, &b})  // one folder spelled two ways is the same data
    if (j->contains("data_dir")) (*j)["data_dir"] = canonical_loose((*j)["data_dir"].get<std::string>()).string();
  std::vector<std::string> out;
  diff_json(a, b, "", out);
  return out;
}

std::optional<ResumePoint> find_resume_point(const TrainConfig& cfg) {
  const fs::path dir = cfg.result_dir, status_file = dir / "train_status.json";
  if (!fs::exists(status_file)) return std::nullopt;
  json st;
  try {
    st = json::parse(read_file(status_file));
  } catch (const std::exception& e) {
    log_warn(status_file.string() + " is unreadable (" + e.what() + "): starting a new training");
    return std::nullopt;
  }
  if (st.value("status", "") == "complete") return std::nullopt;
  const std::string run_id = st.value("run_id", "");
  const int pid = st.value("pid", 0);
  VG_CHECK(!(st.value("host", "") == this_host() && pid != ::getpid() && process_alive(pid)), dir.string(),
           " is being written by a training that is still running (process ", pid,
           "): wait for it, stop it, or choose another --result-dir");
  if (cfg.restart) {
    log_info("--restart: a new training in " + dir.string() + " (the unfinished run's checkpoints are ignored)");
    return std::nullopt;
  }
  const auto ckpts = list_checkpoints(dir);
  for (auto it = ckpts.rbegin(); it != ckpts.rend(); ++it) {
    if (checkpoint_run_id(it->second) != run_id) continue;
    std::string saved;
    try {
      const SafetensorsFile f = SafetensorsFile::open(it->second);
      saved = f.metadata().at("config");
    } catch (const std::exception& e) {
      log_warn("skipping unreadable checkpoint " + it->second.string() + ": " + e.what());
      continue;
    }
    const std::vector<std::string> diff = config_differences(saved, cfg);
    VG_CHECK(diff.empty(), dir.string(), " holds an unfinished training with other options (", join(diff, ", "),
             "): repeat its options to resume it, add --restart to start over, or choose another --result-dir");
    return ResumePoint{run_id, it->second};
  }
  log_info(dir.string() + " holds an unfinished training without a checkpoint: starting it over");
  return std::nullopt;
}

}  // namespace vg
