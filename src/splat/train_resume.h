// Resuming `vgsplat train` in a result folder that holds an unfinished run. While a training writes
// the folder its train_status.json says "running" (or "interrupted"); only a finished run says
// "complete". Checkpoints carry the id of the run that wrote them, so a new run never resumes (or
// deletes) the checkpoints an older run left in the same folder.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "splat/train_config.h"

namespace vg {

// "<YYYYmmddTHHMMSS>-<pid>-<n>": unique per training run started by this process.
std::string new_run_id();

// <result_dir>/train_status.json: {"status", "run_id", "pid", "host", "step"} (written atomically).
void write_train_status(const std::filesystem::path& result_dir, const std::string& status, const std::string& run_id,
                        int step);

// The checkpoints ckpts/ckpt_<step>.safetensors of a folder, by step (temp files are skipped).
std::vector<std::pair<int, std::filesystem::path>> list_checkpoints(const std::filesystem::path& result_dir);
// The run id stored in a checkpoint's metadata ("" when it has none or cannot be read).
std::string checkpoint_run_id(const std::filesystem::path& ckpt);

// The options whose values differ between a checkpoint's config and `now` ("max_steps: 100 -> 200"),
// leaving out those that do not change the trained model (output, logging, device, save points).
std::vector<std::string> config_differences(const std::string& saved_json, const TrainConfig& now);

struct ResumePoint {
  std::string run_id;
  std::filesystem::path ckpt;  // the newest checkpoint of that run
};
// What `train` in cfg.result_dir continues: the unfinished run's newest checkpoint; nothing for a
// folder without an unfinished run, with cfg.restart, or when the run saved no checkpoint yet.
// Throws vg::Error when the run is still being written by a live process or its config differs.
std::optional<ResumePoint> find_resume_point(const TrainConfig& cfg);

}  // namespace vg
