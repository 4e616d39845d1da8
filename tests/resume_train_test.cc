// Resuming `train` in a result folder: a run that died after a periodic checkpoint continues from its
// newest checkpoint and ends exactly where an uninterrupted run ends; the last two periodic
// checkpoints are kept; other options, --restart, a finished run and a live writer; memory sizes.
#include "splat/train_resume.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/cuda_memory.h"
#include "core/fs.h"
#include "pipeline/demo_scene.h"
#include "splat/checkpoint.h"
#include "splat/trainer.h"
#include "temp_dir.h"

namespace vg {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::TempDir;

struct Killed {};  // thrown from the step callback: the run dies without any clean-up

std::vector<int> checkpoint_steps(const fs::path& dir) {
  std::vector<int> out;
  for (const auto& [step, path] : list_checkpoints(dir)) out.push_back(step);
  return out;
}

class ResumeTrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    demo::SceneOptions o;
    o.width = o.height = 32;
    o.n_train = 8;
    o.n_test = 2;
    demo::write_scene(dir().path / "data", o);
  }
  static TempDir& dir() {
    static TempDir d("resume_train");
    return d;
  }
  static TrainConfig config(const std::string& name) {
    TrainConfig c = demo::train_config(dir().path / "data", dir().path / name, 100, "cpu");
    c.init_num_pts = 400;
    c.lpips_weights.clear();
    c.max_steps = 40;
    c.eval_steps = {40};
    c.save_steps = {20, 40};
    c.save_ply = false;
    c.tb_every = 0;
    c.disable_video = true;
    c.save_every = 6;
    c.save_every_min = 0;
    c.strategy.refine_start_iter = 3;  // densification (and its random split noise) on both sides of the kill
    c.strategy.refine_every = 5;
    c.strategy.refine_stop_iter = 35;
    c.strategy.reset_every = 1000;
    return c;
  }
  static std::optional<EvalStats> train(const TrainConfig& c, int kill_after = -1) {
    Trainer t(c);
    t.set_verbose(false);
    if (kill_after >= 0)
      t.set_step_callback([kill_after](int step) {
        if (step == kill_after) throw Killed{};
      });
    return t.run();
  }
};

TEST_F(ResumeTrainTest, KilledRunResumesToTheUninterruptedResult) {
  const TrainConfig c = config("killed");
  EXPECT_THROW(train(c, 27), Killed);
  // Periodic checkpoints after steps 6, 12, 18, 24 (1-based): the last two kept, and the --save-steps one.
  EXPECT_EQ(checkpoint_steps(c.result_dir), (std::vector<int>{17, 19, 23}));
  Trainer again(c);  // the same command again
  again.set_verbose(false);
  EXPECT_EQ(again.start_step(), 24);
  const std::optional<EvalStats> resumed = again.run();
  const std::optional<EvalStats> whole = train(config("whole"));
  ASSERT_TRUE(resumed && whole);
  EXPECT_EQ(resumed->psnr, whole->psnr);
  EXPECT_EQ(resumed->num_gs, whole->num_gs);
  const Checkpoint a = load_checkpoint(again.checkpoint_path(39)), b = load_checkpoint(fs::path(config("whole").result_dir) / "ckpts" / "ckpt_39.safetensors");
  for (int i = 0; i < Gaussians::kGroups; ++i)
    EXPECT_EQ(a.gaussians.group(i).to_vector<float>(), b.gaussians.group(i).to_vector<float>()) << i;
  EXPECT_EQ(a.strategy_rng, b.strategy_rng);
  EXPECT_EQ(nlohmann::json::parse(read_file(fs::path(c.result_dir) / "train_status.json"))["status"], "complete");

  Trainer fresh(c);  // a finished run is not resumed: the same command trains anew
  EXPECT_EQ(fresh.start_step(), 0);
}

TEST_F(ResumeTrainTest, OtherOptionsRestartAndOlderRuns) {
  TrainConfig c = config("options");
  c.save_steps = {};
  EXPECT_THROW(train(c, 8), Killed);
  TrainConfig other = c;
  other.seed = 7;
  other.ssim_lambda = 0.5f;
  other.device = "auto";  // not part of the comparison
  const std::string e = error_of([&] { Trainer t(other); });
  EXPECT_NE(e.find("holds an unfinished training with other options"), std::string::npos) << e;
  EXPECT_NE(e.find("seed: 42 -> 7"), std::string::npos) << e;
  EXPECT_NE(e.find("ssim_lambda: 0.2"), std::string::npos) << e;
  EXPECT_EQ(e.find("device"), std::string::npos) << e;
  EXPECT_NE(e.find("--restart"), std::string::npos) << e;

  other.restart = true;  // starts over; the old run's checkpoints are never resumed again
  EXPECT_THROW(train(other, 2), Killed);
  Trainer t(other);
  EXPECT_EQ(t.start_step(), 0);  // no checkpoint of the new run yet
  other.restart = false;
  Trainer u(other);
  EXPECT_EQ(u.start_step(), 0);
}

TEST_F(ResumeTrainTest, ConfigDifferencesLeaveOutputOptions) {
  TrainConfig a = config("diff"), b = a;
  b.tb_every = 7;
  b.eval_steps = {1};
  b.save_every = 100;
  b.device = "cuda";
  b.ckpt = "x";
  EXPECT_TRUE(config_differences(a.to_json(), b).empty());
  b.strategy.grow_grad2d = 0.5f;
  b.max_steps = 99;
  const std::vector<std::string> d = config_differences(a.to_json(), b);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "max_steps: 40 -> 99");
  EXPECT_EQ(d[1].rfind("strategy.grow_grad2d: ", 0), 0u) << d[1];
}

TEST(MemorySize, Parses) {
  EXPECT_EQ(parse_memory_size("512M", "cap"), 512u << 20);
  EXPECT_EQ(parse_memory_size("1.5G", "cap"), 3ull << 29);
  EXPECT_EQ(parse_memory_size("4096", "cap"), 4096u);
  EXPECT_NE(error_of([] { parse_memory_size("lots", "cap"); }).find("cap: expected a size"), std::string::npos);
  EXPECT_NE(error_of([] { parse_memory_size("3T", "cap"); }).find("unknown unit"), std::string::npos);
}

TEST(ClaimFolders, ExclusiveMkdirAndRenameWithoutReplace) {
  TempDir d("claim");
  EXPECT_TRUE(create_directory_exclusive(d.path / "a"));
  EXPECT_FALSE(create_directory_exclusive(d.path / "a"));
  write_file_atomic(d.path / "b" / "x.txt", "x");
  EXPECT_FALSE(rename_no_replace(d.path / "a", d.path / "b"));
  EXPECT_TRUE(fs::exists(d.path / "b" / "x.txt"));
  EXPECT_TRUE(rename_no_replace(d.path / "a", d.path / "c"));
  write_file_atomic(d.path / ".tmp.ckpt_5.safetensors.999999999.0", "half");  // no such process
  write_file_atomic(d.path / (".tmp.ckpt_6.safetensors." + std::to_string(::getpid()) + ".0"), "live");
  remove_stale_temp_files(d.path);
  EXPECT_FALSE(fs::exists(d.path / ".tmp.ckpt_5.safetensors.999999999.0"));
  EXPECT_TRUE(fs::exists(d.path / (".tmp.ckpt_6.safetensors." + std::to_string(::getpid()) + ".0")));
  EXPECT_NE(write_error("f", EFBIG).find("file-size limit"), std::string::npos);
  EXPECT_NE(write_error("f", ENOSPC).find("disk is full"), std::string::npos);
}

}  // namespace
}  // namespace vg
