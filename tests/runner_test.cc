// Runner: results folder naming, metadata/analysis fields, stage order, atomicity on failure,
// the input left untouched.
#include "pipeline/runner.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <ctime>
#include <fstream>

#include "core/error.h"
#include "core/fs.h"

namespace vg {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_runner_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Clock::time_point local_time(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
  tm.tm_isdst = -1;
  return Clock::from_time_t(std::mktime(&tm));
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A scene folder with a file in it; tests check it is never modified.
fs::path make_scene(const fs::path& root, const std::string& name) {
  fs::create_directories(root / name / "images");
  std::ofstream(root / name / "images" / "a.png") << "not really a png";
  return root / name;
}

Stage write_stage(const std::string& name, const std::string& file) {
  return {name, [name, file](RunContext& ctx) {
            write_file_atomic(ctx.work_dir / file, name);
            ctx.analysis[name] = {{"ran", true}};
          }};
}

TEST(Runner, ScanNameAndFolderName) {
  EXPECT_EQ(scan_name("/data/DTU/scan24_standard"), "scan24");
  EXPECT_EQ(scan_name("/data/DTU/scan24_standard/"), "scan24");
  EXPECT_EQ(scan_name("/data/fox"), "fox");
  EXPECT_EQ(scan_name("/data/fox/images"), "fox");
  EXPECT_EQ(scan_name("/data/_standard_x"), "_standard_x");
  EXPECT_EQ(result_folder_name("P1", "scan24", local_time(2026, 1, 24, 18, 4, 5)), "P1_scan24_20260124_180405");
}

TEST(Runner, RunsStagesInOrderAndWritesRecords) {
  const fs::path d = temp_dir("ok");
  const fs::path scene = make_scene(d, "scan9_standard");
  std::vector<std::string> order;
  Pipeline p{"P9", {write_stage("first", "one.txt"), write_stage("second", "two.txt")}};
  p.stages.push_back({"third", [&order](RunContext& ctx) {
                        order.push_back(ctx.pipeline);
                        EXPECT_TRUE(fs::exists(ctx.work_dir / "one.txt"));  // earlier stages' files are there
                        EXPECT_EQ(ctx.dataset_dir.filename(), "scan9_standard");
                        ctx.partial = true;
                        ctx.messages.push_back("only 3 of 40 images registered; largest model written");
                      }});
  RunOptions opt;
  opt.results_root = d / "results";
  opt.device = "cpu";
  opt.start = local_time(2026, 3, 2, 9, 8, 7);
  const RunReport r = run_pipeline(p, scene, opt);
  EXPECT_EQ(order, std::vector<std::string>{"P9"});
  EXPECT_EQ(r.result_dir, d / "results" / "P9_scan9_20260302_090807");
  EXPECT_EQ(entries(d / "results"), std::vector<std::string>{"P9_scan9_20260302_090807"});  // no temp folder left
  EXPECT_EQ(entries(r.result_dir), (std::vector<std::string>{"analysis.json", "metadata.json", "one.txt", "two.txt"}));

  const auto meta = nlohmann::json::parse(read_file(r.result_dir / "metadata.json"));
  for (const char* key : {"pipeline", "timestamp", "start", "end", "duration_seconds", "dataset", "git_commit",
                          "hostname", "gpus", "gpu", "device", "stages"})
    EXPECT_TRUE(meta.contains(key)) << key;
  EXPECT_EQ(meta["pipeline"], "P9");
  for (const char* s : {"first", "second", "third"}) EXPECT_GE(meta["seconds_per_stage"][s].get<double>(), 0.0) << s;
  EXPECT_EQ(meta["timestamp"], "20260302_090807");
  EXPECT_EQ(meta["device"], "cpu");
  EXPECT_TRUE(meta["gpu"].is_null());
  EXPECT_EQ(meta["dataset"], fs::absolute(scene).lexically_normal().string());
  EXPECT_EQ(meta["stages"], (nlohmann::json{"first", "second", "third"}));
  EXPECT_EQ(meta["status"], "ok");

  const auto an = nlohmann::json::parse(read_file(r.result_dir / "analysis.json"));
  EXPECT_EQ(an, r.analysis);
  EXPECT_TRUE(an["partial"].get<bool>());
  EXPECT_EQ(an["messages"][0], "only 3 of 40 images registered; largest model written");
  EXPECT_TRUE(an["first"]["ran"].get<bool>());
  for (const char* s : {"first", "second", "third"}) EXPECT_GE(an["seconds_per_stage"][s].get<double>(), 0.0) << s;
  EXPECT_GE(an["total_seconds"].get<double>(), 0.0);

  // The same second again: a new folder beside the first, never into it.
  const RunReport r2 = run_pipeline(p, scene, opt);
  EXPECT_EQ(r2.result_dir, d / "results" / "P9_scan9_20260302_090807_2");
  EXPECT_EQ(entries(scene / "images"), std::vector<std::string>{"a.png"});  // input untouched
  fs::remove_all(d);
}

TEST(Runner, FailedStageLeavesNoFiles) {
  const fs::path d = temp_dir("fail");
  const fs::path scene = make_scene(d, "fox");
  bool ran_after = false;
  Pipeline p{"P1", {write_stage("sfm", "sparse.txt"),
                    {"train", [](RunContext&) { VG_FAIL("out of memory"); }},
                    {"after", [&](RunContext&) { ran_after = true; }}}};
  RunOptions opt;
  opt.results_root = d / "results";
  opt.device = "cpu";
  try {
    run_pipeline(p, scene, opt);
    FAIL() << "a failing stage should throw";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "P1 stage 'train' failed: out of memory");
  }
  EXPECT_FALSE(ran_after);
  EXPECT_TRUE(entries(d / "results").empty());  // neither a results folder nor a temp folder

  opt.keep_failed = true;
  opt.start = local_time(2026, 3, 2, 9, 8, 7);
  EXPECT_THROW(run_pipeline(p, scene, opt), Error);
  EXPECT_EQ(entries(d / "results"), std::vector<std::string>{"P1_fox_20260302_090807_failed"});
  const auto meta = nlohmann::json::parse(read_file(d / "results" / "P1_fox_20260302_090807_failed" / "metadata.json"));
  EXPECT_EQ(meta["status"], "failed");
  EXPECT_EQ(meta["error"], "P1 stage 'train' failed: out of memory");
  // The failed folder does not take the name of a later successful run.
  Pipeline ok{"P1", {write_stage("sfm", "sparse.txt")}};
  EXPECT_EQ(run_pipeline(ok, scene, opt).result_dir.filename(), "P1_fox_20260302_090807_2");
  EXPECT_EQ(entries(scene / "images"), std::vector<std::string>{"a.png"});
  fs::remove_all(d);
}

TEST(Runner, BadInput) {
  const fs::path d = temp_dir("bad");
  const fs::path scene = make_scene(d, "scene");
  RunOptions opt;
  opt.results_root = d / "results";
  opt.device = "cpu";
  EXPECT_THROW(run_pipeline(Pipeline{"P1", {}}, scene, opt), Error);
  Pipeline p{"P1", {write_stage("sfm", "x.txt")}};
  EXPECT_THROW(run_pipeline(p, d / "missing", opt), Error);
  opt.results_root = scene / "results";  // never write into the input
  try {
    run_pipeline(p, scene, opt);
    FAIL() << "results inside the input should throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("inside the input"), std::string::npos) << e.what();
  }
  EXPECT_EQ(entries(scene), std::vector<std::string>{"images"});
  fs::remove_all(d);
}

}  // namespace
}  // namespace vg
