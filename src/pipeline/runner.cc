#include "pipeline/runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "core/device.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "splat/resume_command.h"

namespace vg {

namespace fs = std::filesystem;

namespace {

bool is_inside(const fs::path& path, const fs::path& dir) {
  const fs::path p = fs::weakly_canonical(path), d = fs::weakly_canonical(dir);
  auto [dit, pit] = std::mismatch(d.begin(), d.end(), p.begin(), p.end());
  return dit == d.end();
}

// Claims results/<name>_incomplete (or <name>_2_incomplete, ... when a run of the same second holds
// the name): an exclusive mkdir, so racing runs never share a folder. Returns the finished name.
fs::path claim_work_dir(const fs::path& root, const std::string& name, fs::path& work) {
  for (int k = 1;; ++k) {
    const std::string n = k == 1 ? name : name + "_" + std::to_string(k);
    if (fs::exists(root / n) || fs::exists(root / (n + "_failed"))) continue;
    if (!create_directory_exclusive(root / (n + kIncompleteSuffix))) continue;
    work = fs::absolute(root / (n + kIncompleteSuffix));
    return root / n;
  }
}

// The finished work folder takes its name (or <name>_2, ... when another run took it meanwhile).
fs::path publish(const fs::path& work, const fs::path& final_dir) {
  fs::path dir = final_dir;
  for (int k = 2; !rename_no_replace(work, dir); ++k)
    dir = final_dir.parent_path() / (final_dir.filename().string() + "_" + std::to_string(k));
  return dir;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The records of the unfinished run in `dir`, after checking that it is one of pipeline `p` on `dataset`
// that no live process is writing; `final_dir` gets its finished name.
nlohmann::json reopen_run(const fs::path& dir, const Pipeline& p, const fs::path& dataset, fs::path& final_dir) {
  const std::string name = dir.filename().string(), where = "--resume " + dir.string();
  VG_CHECK(fs::is_directory(dir), where, ": no such folder");
  VG_CHECK(fs::exists(dir / "metadata.json"), where, ": no metadata.json, not a folder of `vgsplat run`");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_file(dir / "metadata.json"));
  } catch (const std::exception& e) {
    VG_FAIL(where, ": unreadable metadata.json: ", e.what());
  }
  VG_CHECK(meta.value("status", "") != "ok", where, ": a finished run, nothing to resume");
  VG_CHECK(meta.value("pipeline", "") == p.name, where, ": a run of ", meta.value("pipeline", "?"), ", not of ", p.name);
  VG_CHECK(meta.value("dataset", "") == dataset.string(), where, ": a run on ", meta.value("dataset", "?"), ", not on ",
           dataset.string());
  const int pid = meta.value("pid", 0);
  VG_CHECK(!(meta.value("hostname", "") == host_name() && pid != ::getpid() && process_alive(pid)), where,
           ": still being written by process ", pid);
  std::string base = name;
  for (const std::string& tail : {std::string(kIncompleteSuffix), std::string("_failed")})
    if (ends_with(base, tail)) base.resize(base.size() - tail.size());
  VG_CHECK(base != name, where, ": not an unfinished run folder (<name>", kIncompleteSuffix, ")");
  final_dir = dir.parent_path() / base;
  return meta;
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


// A stage failed: a new run's folder goes (or becomes <name>_failed with keep_failed); a resumed run's
// folder stays as it was, with the error in its records, since it holds an earlier run's work.
void fail_run(const RunContext& ctx, const RunOptions& opt, bool resuming, const fs::path& result_dir,
              const std::function<void()>& write_records) {
  std::error_code ec;
  if (resuming || opt.keep_failed) {
    try {
      write_records();
      if (!resuming) fs::rename(ctx.work_dir, result_dir.string() + "_failed");
      log_warn("the failed run's files are in " + (resuming ? ctx.work_dir.string() : result_dir.string() + "_failed"));
      return;
    } catch (const std::exception&) {
      if (resuming) return;
    }
  }
  fs::remove_all(ctx.work_dir, ec);
}

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
  const Clock::time_point now = opt.start.value_or(Clock::now());
  const auto t0 = std::chrono::steady_clock::now();

  RunContext ctx;
  ctx.pipeline = p.name;
  ctx.dataset_dir = fs::absolute(dataset_dir).lexically_normal();
  ctx.device = resolve_device(opt.device).str();
  const std::string scan = scan_name(dataset_dir);
  const bool resuming = !opt.resume.empty();
  fs::path result_dir;  // the name of the finished folder
  nlohmann::json meta;
  double earlier_seconds = 0;  // of the runs before this resumption
  if (resuming) {
    ctx.work_dir = fs::absolute(opt.resume).lexically_normal();
    if (ctx.work_dir.filename().empty()) ctx.work_dir = ctx.work_dir.parent_path();
    meta = reopen_run(ctx.work_dir, p, ctx.dataset_dir, result_dir);
    if (fs::exists(ctx.work_dir / "analysis.json")) ctx.analysis = nlohmann::json::parse(read_file(ctx.work_dir / "analysis.json"));
    ctx.partial = ctx.analysis.value("partial", false);
    ctx.messages = ctx.analysis.value("messages", std::vector<std::string>{});
    earlier_seconds = ctx.analysis.value("total_seconds", 0.0);
    meta["resumed"].push_back(iso_timestamp(now));
    meta.erase("error");
  } else {
    fs::create_directories(opt.results_root);
    result_dir = claim_work_dir(opt.results_root, result_folder_name(p.name, scan, now), ctx.work_dir);
    meta = environment_json();
    meta["pipeline"] = p.name;
    meta["timestamp"] = folder_timestamp(now);
    meta["start"] = iso_timestamp(now);
    meta["dataset"] = ctx.dataset_dir.string();
    meta["scan"] = scan;
    meta["command"] = opt.command;
    meta.update(device_json(ctx.device));
    meta["stages"] = nlohmann::json::array();
    meta["stages_done"] = nlohmann::json::array();
  }
  meta["pid"] = static_cast<int>(::getpid());
  meta["hostname"] = host_name();
  nlohmann::json stage_seconds = meta.value("seconds_per_stage", nlohmann::json::object());

  // metadata.json and analysis.json as they stand, with `status`.
  auto write_records = [&](const std::string& status) {
    const Clock::time_point end = Clock::now();
    meta["end"] = iso_timestamp(end);
    meta["duration_seconds"] = std::chrono::duration<double>(end - now).count();
    meta["status"] = status;
    meta["seconds_per_stage"] = stage_seconds;
    ctx.analysis["pipeline"] = p.name;
    ctx.analysis["scan"] = scan;
    ctx.analysis["seconds_per_stage"] = stage_seconds;
    ctx.analysis["total_seconds"] =
        earlier_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ctx.analysis["partial"] = ctx.partial;
    ctx.analysis["messages"] = ctx.messages;
    write_json_atomic(ctx.work_dir / "analysis.json", ctx.analysis);
    write_json_atomic(ctx.work_dir / "metadata.json", meta);  // last: its status covers the analysis
  };
  write_records("running");

  for (const Stage& s : p.stages) {
    if (std::find(meta["stages_done"].begin(), meta["stages_done"].end(), s.name) != meta["stages_done"].end()) {
      log_info(p.name + ": stage " + s.name + " was done by the earlier run");
      continue;
    }
    log_info(p.name + ": stage " + s.name);
    const auto ts = std::chrono::steady_clock::now();
    auto record_time = [&] {
      stage_seconds[s.name] = stage_seconds.value(s.name, 0.0) +
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
      meta["stages"].push_back(s.name);
    };
    try {
      s.run(ctx);
    } catch (const Interrupted& e) {  // Ctrl-C: the folder stays _incomplete, to be resumed
      record_time();
      meta["error"] = e.what();
      write_records("interrupted");
      const std::string again =
          opt.command.empty() ? "" : "; resume with: " + opt.command + " --resume " + shell_command({ctx.work_dir.string()});
      throw Interrupted(p.name + " stage '" + s.name + "' " + e.what() + " (the run's files are in " +
                            ctx.work_dir.string() + ")" + again,
                        e.signal());
    } catch (const std::exception& e) {
      const std::string what = p.name + " stage '" + s.name + "' failed: " + e.what();
      record_time();
      meta["error"] = what;
      fail_run(ctx, opt, resuming, result_dir, [&] { write_records("failed"); });
      throw Error(what);
    }
    record_time();
    meta["stages_done"].push_back(s.name);
    write_records("running");
  }
  write_records("ok");
  const fs::path done = publish(ctx.work_dir, result_dir);
  return {done, meta, ctx.analysis};
}

}  // namespace vg
