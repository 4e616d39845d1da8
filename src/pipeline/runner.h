// The results-folder runner of `vgsplat run`: a pipeline is an ordered list of stages (P1 = {sfm,
// train}; P2..P5 are other lists) run in a work folder results/<name>_incomplete (claimed with an
// exclusive mkdir, so two runs never share one) and renamed to results/<P>_<scan>_<YYYYmmdd_HHMMSS>/
// when every stage succeeded. metadata.json ("status": running | interrupted | failed | ok, the
// stages done) and analysis.json are rewritten atomically after every stage, so a killed or
// interrupted run leaves an _incomplete folder that `run ... --resume <folder>` continues at its first
// unfinished stage. The input dataset is only read. A failed new run leaves nothing (or, with
// keep_failed, results/<name>_failed with the error in metadata.json).
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/results.h"

namespace vg {

struct RunContext {
  std::string pipeline;                  // "P1"
  std::filesystem::path dataset_dir;     // the input scene, absolute; read-only
  std::filesystem::path work_dir;        // where stages write; becomes the results folder
  std::string device;                    // resolved device ("cuda:0", "cpu") for every stage
  nlohmann::json analysis = nlohmann::json::object();  // stages add their records ("sfm", "train", ...)
  bool partial = false;                  // a stage produced partial results (analysis.json says so)
  std::vector<std::string> messages;     // one line each, e.g. "only 3 of 40 images registered; ..."
};

struct Stage {
  std::string name;
  std::function<void(RunContext&)> run;  // throws on failure
};

struct Pipeline {
  std::string name;  // "P1"
  std::vector<Stage> stages;
};

struct RunOptions {
  std::filesystem::path results_root = "results";
  std::string device = "auto";
  bool keep_failed = false;                   // keep a failed run's folder as <name>_failed
  std::string command;                        // the command line, recorded in metadata.json
  std::optional<Clock::time_point> start;     // run start (tests fix it); default now
  std::filesystem::path resume;               // an _incomplete folder of this pipeline to continue
};

struct RunReport {
  std::filesystem::path result_dir;
  nlohmann::json metadata, analysis;
};

// Folder name of a dataset without its "_standard" suffix ("scan24_standard" -> "scan24"; a
// trailing "images" folder is skipped).
std::string scan_name(const std::filesystem::path& dataset_dir);
// The suffix of a results folder while its run is unfinished.
inline constexpr const char* kIncompleteSuffix = "_incomplete";
// "<pipeline>_<scan>_<YYYYmmdd_HHMMSS>".
std::string result_folder_name(const std::string& pipeline, const std::string& scan, Clock::time_point t);

// Runs the stages in order (with opt.resume: those not yet done there); throws vg::Error "<P> stage
// '<name>' failed: <reason>" after cleaning up, vg::Interrupted naming the folder and the resume line.
RunReport run_pipeline(const Pipeline& p, const std::filesystem::path& dataset_dir, const RunOptions& opt);

}  // namespace vg
