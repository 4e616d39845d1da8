// Ctrl-C during training: the signal flag and its guard, the checkpoint + resume line of an interrupted
// Trainer::run, resuming it to the end, and the runner keeping an interrupted run's folder.
#include "core/interrupt.h"

#include <gtest/gtest.h>

#include <csignal>

#include "core/fs.h"
#include <nlohmann/json.hpp>
#include "pipeline/demo_scene.h"
#include "pipeline/runner.h"
#include "splat/resume_command.h"
#include "splat/trainer.h"
#include "temp_dir.h"

namespace vg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

using Handler = void (*)(int);

Handler current_handler(int sig) {
  struct sigaction sa {};
  sigaction(sig, nullptr, &sa);
  return sa.sa_handler;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Interrupt, GuardCatchesSignalsAndRestoresHandlers) {
  const Handler before_int = current_handler(SIGINT), before_term = current_handler(SIGTERM);
  {
    InterruptGuard guard;
    EXPECT_FALSE(interrupted());
    std::raise(SIGINT);  // handled synchronously in this thread: only the flag is set
    EXPECT_TRUE(interrupted());
    EXPECT_EQ(interrupt_signal(), SIGINT);
    clear_interrupt();
    std::raise(SIGTERM);
    EXPECT_EQ(interrupt_signal(), SIGTERM);
  }
  EXPECT_EQ(current_handler(SIGINT), before_int);
  EXPECT_EQ(current_handler(SIGTERM), before_term);
  InterruptGuard fresh;  // a new outermost guard starts clean
  EXPECT_FALSE(interrupted());
}

TEST(Interrupt, SecondSigintExitsAtOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        InterruptGuard guard;
        std::raise(SIGINT);
        std::raise(SIGINT);  // the default action: killed by SIGINT
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGINT), "");
}

TEST(Interrupt, ResumeCommandNamesFoldersFlagsAndCheckpoint) {
  TrainConfig c;
  c.data_dir = "/data/fox standard";
  c.result_dir = "/results/fox";
  c.data_factor = 1;
  c.max_steps = 7000;
  c.device = "cpu";
  EXPECT_EQ(resume_command(c, "/results/fox/ckpts/ckpt_99.safetensors"),
            "vgsplat train --data-dir '/data/fox standard' --result-dir /results/fox --data-factor 1 --max-steps 7000 "
            "--device cpu --ckpt /results/fox/ckpts/ckpt_99.safetensors");
  // Scaled step counts: a --max-steps that the same --steps-scaler maps back to the run's count.
  TrainConfig s;
  s.data_dir = "d";
  s.result_dir = "r";
  s.max_steps = 7001;
  s.steps_scaler = 0.3f;
  s.adjust_steps(s.steps_scaler);
  const std::string cmd = resume_command(s, "c");
  const size_t at = cmd.find("--max-steps ");
  ASSERT_NE(at, std::string::npos) << cmd;
  TrainConfig back;
  back.max_steps = std::stoi(cmd.substr(at + 12));
  back.adjust_steps(0.3f);
  EXPECT_EQ(back.max_steps, s.max_steps) << cmd;
  EXPECT_NE(cmd.find("--steps-scaler 0.300000012"), std::string::npos) << cmd;
}

class InterruptTrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    demo::SceneOptions o;
    o.width = o.height = 32;
    o.n_train = 8;
    o.n_test = 2;
    demo::write_scene(dir_.path / "data", o);
  }
  TrainConfig config(const std::string& name) const {
    TrainConfig c = demo::train_config(dir_.path / "data", dir_.path / name, 100, "cpu");
    c.init_num_pts = 500;
    c.lpips_weights.clear();
    c.max_steps = 20;
    c.eval_steps.clear();
    c.save_steps.clear();
    c.tb_every = 0;
    c.disable_video = true;
    c.strategy.refine_stop_iter = 4;  // strategy randomness only before the interrupt
    return c;
  }
  TempDir dir_{"interrupt_train"};
};

TEST_F(InterruptTrainTest, SigintSavesCheckpointAndResumeFinishes) {
  TrainConfig c = config("run");
  Trainer a(c);
  a.set_verbose(false);
  a.set_step_callback([](int step) {
    if (step == 7) std::raise(SIGINT);
  });
  a.run();
  ASSERT_TRUE(a.interrupted());
  EXPECT_EQ(a.interrupt_step(), 7);
  const fs::path ckpt = fs::path(c.result_dir) / "ckpts" / "ckpt_7.safetensors";
  EXPECT_EQ(a.interrupt_checkpoint(), ckpt.string());
  EXPECT_EQ(files_in(fs::path(c.result_dir) / "ckpts"), std::vector<std::string>{"ckpt_7.safetensors"});
  EXPECT_TRUE(fs::exists(fs::path(c.result_dir) / "stats" / "train_step0007.json"));
  EXPECT_FALSE(fs::exists(fs::path(c.result_dir) / "ply"));  // no half-written or premature PLY

  TrainConfig r = c;  // the resume command's config: same folders plus --ckpt
  r.ckpt = ckpt.string();
  Trainer b(r);
  b.set_verbose(false);
  EXPECT_EQ(b.start_step(), 8);
  b.run();
  EXPECT_FALSE(b.interrupted());
  EXPECT_TRUE(fs::exists(fs::path(c.result_dir) / "ckpts" / "ckpt_19.safetensors"));

  Trainer u(config("uninterrupted"));  // the same result as a run that was never stopped
  u.set_verbose(false);
  u.run();
  for (int i = 0; i < Gaussians::kGroups; ++i)
    EXPECT_EQ(b.gaussians().group(i).to_vector<float>(), u.gaussians().group(i).to_vector<float>())
        << Gaussians::group_name(i);
}

TEST(InterruptRunner, KeepsTheIncompleteFolderAndResumesIt) {
  TempDir dir("interrupt_runner");
  fs::create_directories(dir.path / "scene" / "images");
  int sfm_runs = 0;
  bool stop = true;
  Pipeline p{"P1",
             {{"sfm", [&](RunContext& ctx) { ++sfm_runs, write_file_atomic(ctx.work_dir / "sparse.txt", "model"); }},
              {"train", [&](RunContext& ctx) {
                 if (stop) throw Interrupted("interrupted at step 5", SIGTERM);
                 ctx.analysis["train"] = {{"psnr", 30.0}};
               }}}};
  RunOptions ro;
  ro.results_root = dir.path / "results";
  ro.device = "cpu";
  ro.command = "vgsplat run P1 scene";
  std::string what;
  int code = 0;
  try {
    run_pipeline(p, dir.path / "scene", ro);
  } catch (const Interrupted& e) {
    what = e.what();
    code = e.exit_code();
  }
  EXPECT_EQ(code, 143);  // SIGTERM
  const std::vector<std::string> kept = files_in(dir.path / "results");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_NE(kept[0].find("_incomplete"), std::string::npos) << kept[0];
  const fs::path k = fs::absolute(dir.path / "results" / kept[0]);
  EXPECT_TRUE(fs::exists(k / "sparse.txt"));
  EXPECT_EQ(nlohmann::json::parse(read_file(k / "metadata.json"))["status"], "interrupted");
  EXPECT_NE(what.find("resume with: vgsplat run P1 scene --resume " + k.string()), std::string::npos) << what;

  stop = false;  // --resume: the SfM stage is done, the training goes on; the folder loses its suffix
  ro.resume = k;
  const RunReport r = run_pipeline(p, dir.path / "scene", ro);
  EXPECT_EQ(sfm_runs, 1);
  EXPECT_EQ(r.result_dir.filename().string() + "_incomplete", kept[0]);
  EXPECT_EQ(files_in(dir.path / "results"), std::vector<std::string>{r.result_dir.filename().string()});
  EXPECT_EQ(r.metadata["status"], "ok");
  EXPECT_EQ(r.analysis["train"]["psnr"], 30.0);
  const std::string again = test::error_of([&] {
    ro.resume = r.result_dir;
    run_pipeline(p, dir.path / "scene", ro);
  });
  EXPECT_NE(again.find("a finished run, nothing to resume"), std::string::npos) << again;
}

}  // namespace
}  // namespace vg
