#include "pipeline/runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "core/device.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/progress.h"

namespace vg {

namespace fs = std::filesystem;

namespace {

bool is_inside(const fs::path& path, const fs::path& dir) {
  const fs::path p = fs::weakly_canonical(path), d = fs::weakly_canonical(dir);
  auto [dit, pit] = std::mismatch(d.begin(), d.end(), p.begin(), p.end());
  return dit == d.end();
}

// results/<name>, or <name>_2, _3 ... when a run of the same second exists.
fs::path free_result_dir(const fs::path& root, const std::string& name) {
  fs::path dir = root / name;
  auto taken = [](const fs::path& p) { return fs::exists(p) || fs::exists(p.string() + "_failed"); };
  for (int k = 2; taken(dir); ++k) dir = root / (name + "_" + std::to_string(k));
  return dir;
}

nlohmann::json device_json(const std::string& device) {
  nlohmann::json j = {{"device", device}, {"gpu", nullptr}};
  const Device d = resolve_device(device);
  if (!d.is_cuda()) return j;
  for (const GpuInfo& g : list_gpus()) {
    if (g.index != d.index) continue;
    j["gpu"] = {{"name", g.name}, {"compute_capability", std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor)}};
  }
  return j;
}

// Every occurrence of `from` in `s` replaced by `to`.
std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t i = s.find(from); !from.empty() && i != std::string::npos; i = s.find(from, i + to.size()))
    s.replace(i, from.size(), to);
  return s;
}

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

}  // namespace

std::string scan_name(const fs::path& dataset_dir) {
  fs::path p = fs::absolute(dataset_dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // trailing slash
  if (p.filename() == "images") p = p.parent_path();
  std::string name = p.filename().string();
  const std::string suffix = "_standard";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    name.resize(name.size() - suffix.size());
  VG_CHECK(!name.empty(), "cannot name a scan after the dataset path '", dataset_dir.string(), "'");
  return name;
}

std::string result_folder_name(const std::string& pipeline, const std::string& scan, Clock::time_point t) {
  return pipeline + "_" + scan + "_" + folder_timestamp(t);
}

RunReport run_pipeline(const Pipeline& p, const fs::path& dataset_dir, const RunOptions& opt) {
  VG_CHECK(!p.stages.empty(), "pipeline ", p.name, " has no stages");
  VG_CHECK(fs::is_directory(dataset_dir), "dataset folder ", dataset_dir.string(), " does not exist");
  VG_CHECK(!is_inside(opt.results_root, dataset_dir), "the results folder ", opt.results_root.string(),
           " lies inside the input dataset ", dataset_dir.string(), ": choose another --results-root");
  const Clock::time_point start = opt.start.value_or(Clock::now());
  const auto t0 = std::chrono::steady_clock::now();

  RunContext ctx;
  ctx.pipeline = p.name;
  ctx.dataset_dir = fs::absolute(dataset_dir).lexically_normal();
  ctx.device = resolve_device(opt.device).str();
  const std::string scan = scan_name(dataset_dir);
  fs::create_directories(opt.results_root);
  const fs::path result_dir = free_result_dir(opt.results_root, result_folder_name(p.name, scan, start));
  ctx.work_dir = fs::absolute(opt.results_root / ("." + result_dir.filename().string() + ".tmp-" +
                                                  std::to_string(::getpid())));
  fs::remove_all(ctx.work_dir);
  fs::create_directories(ctx.work_dir);

  nlohmann::json meta = environment_json();
  meta["pipeline"] = p.name;
  meta["timestamp"] = folder_timestamp(start);
  meta["start"] = iso_timestamp(start);
  meta["dataset"] = ctx.dataset_dir.string();
  meta["scan"] = scan;
  meta["command"] = opt.command;
  meta.update(device_json(ctx.device));
  nlohmann::json stage_seconds = nlohmann::json::object();
  meta["stages"] = nlohmann::json::array();

  auto finish_records = [&](const std::string& status) {
    const Clock::time_point end = Clock::now();
    meta["end"] = iso_timestamp(end);
    meta["duration_seconds"] = seconds_between(start, end);
    meta["status"] = status;
    meta["seconds_per_stage"] = stage_seconds;
    ctx.analysis["pipeline"] = p.name;
    ctx.analysis["scan"] = scan;
    ctx.analysis["seconds_per_stage"] = stage_seconds;
    ctx.analysis["total_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ctx.analysis["partial"] = ctx.partial;
    ctx.analysis["messages"] = ctx.messages;
  };

  for (const Stage& s : p.stages) {
    log_info(p.name + ": stage " + s.name);
    const auto ts = std::chrono::steady_clock::now();
    try {
      s.run(ctx);
    } catch (const Interrupted& e) {  // Ctrl-C: keep what the stage saved as <name>_interrupted
      stage_seconds[s.name] = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
      meta["stages"].push_back(s.name);
      meta["error"] = e.what();
      finish_records("interrupted");
      fs::path kept = opt.results_root / (result_dir.filename().string() + "_interrupted");
      for (int k = 2; fs::exists(kept); ++k)
        kept = opt.results_root / (result_dir.filename().string() + "_interrupted_" + std::to_string(k));
      write_json_atomic(ctx.work_dir / "metadata.json", meta);
      write_json_atomic(ctx.work_dir / "analysis.json", ctx.analysis);
      fs::rename(ctx.work_dir, kept);
      const std::string what = replace_all(e.what(), ctx.work_dir.string(), fs::absolute(kept).string());
      throw Interrupted(p.name + " stage '" + s.name + "' " + what + " (the run's files are in " + kept.string() + ")");
    } catch (const std::exception& e) {
      const std::string what = p.name + " stage '" + s.name + "' failed: " + e.what();
      stage_seconds[s.name] = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
      meta["stages"].push_back(s.name);
      meta["error"] = what;
      std::error_code ec;
      if (opt.keep_failed) {
        finish_records("failed");
        const fs::path failed = opt.results_root / (result_dir.filename().string() + "_failed");
        try {
          write_json_atomic(ctx.work_dir / "metadata.json", meta);
          write_json_atomic(ctx.work_dir / "analysis.json", ctx.analysis);
          fs::rename(ctx.work_dir, failed);
          log_warn("the failed run's files are in " + failed.string());
        } catch (const std::exception&) {
          fs::remove_all(ctx.work_dir, ec);
        }
      } else {
        fs::remove_all(ctx.work_dir, ec);
      }
      throw Error(what);
    }
    stage_seconds[s.name] = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    meta["stages"].push_back(s.name);
  }
  finish_records("ok");
  write_json_atomic(ctx.work_dir / "metadata.json", meta);
  write_json_atomic(ctx.work_dir / "analysis.json", ctx.analysis);
  fs::rename(ctx.work_dir, result_dir);
  return {result_dir, meta, ctx.analysis};
}

}  // namespace vg
