// Short CPU trainings on the synthetic demo scene (48x48): quality, determinism, resume, result folder.
#include <gtest/gtest.h>

#include <chrono>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "pipeline/demo_scene.h"
#include "core/error.h"
#include "splat/trainer.h"

namespace vg {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("vgsplat_trainer_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    demo::SceneOptions o;
    o.width = o.height = 48;
    o.n_train = 16;
    o.n_test = 4;
    demo::write_scene(root_ / "data", o);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static TrainConfig config(const std::string& name, int schedule_steps) {
    TrainConfig c = demo::train_config(root_ / "data", root_ / name, schedule_steps, "cpu");
    c.init_num_pts = 2000;
    c.lpips_weights.clear();
    return c;
  }

  static std::vector<std::vector<float>> params(const Gaussians& g) {
    std::vector<std::vector<float>> out;
    for (int i = 0; i < Gaussians::kGroups; ++i) out.push_back(g.group(i).to_vector<float>());
    return out;
  }

  static fs::path root_;
};
fs::path TrainerTest::root_;

TEST_F(TrainerTest, PsnrRisesOnDemoScene) {
  ::unsetenv("VGSPLAT_LPIPS_WEIGHTS");
  TrainConfig qc = config("quality", 300);
  qc.sh_degree = 1;                    // keeps the CPU test short; the scene is diffuse
  qc.strategy.grow_grad2d = 0.0004f;   // fewer Gaussians than the default 0.0002: ~half the CPU time
  Trainer t(qc);
  t.set_verbose(false);
  EvalStats before = t.evaluate(0, false);
  auto tic = std::chrono::steady_clock::now();
  auto after = t.run();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - tic).count();
  ASSERT_TRUE(after.has_value());
  std::printf("demo 48x48, 300 steps: PSNR %.2f -> %.2f dB, SSIM %.3f, %lld GSs, %.1f s\n", before.psnr, after->psnr,
              after->ssim, static_cast<long long>(after->num_gs), secs);
  EXPECT_GT(after->psnr, 20.0);
  EXPECT_GT(after->psnr, before.psnr + 5.0);
  EXPECT_FALSE(after->lpips.has_value());
  EXPECT_FALSE(after->lpips_reason.empty());
}

TEST_F(TrainerTest, SameSeedGivesIdenticalParameters) {
  auto run = [&](const std::string& name) {
    TrainConfig c = config(name, 100);  // refine every 10 steps from step 1
    c.max_steps = 40;
    c.eval_steps.clear();
    Trainer t(c);
    t.set_verbose(false);
    t.run();
    return params(t.gaussians());
  };
  auto a = run("det_a"), b = run("det_b");
  for (int i = 0; i < Gaussians::kGroups; ++i) EXPECT_EQ(a[i], b[i]) << Gaussians::group_name(i);
}

TEST_F(TrainerTest, ResumeMatchesUninterruptedRun) {
  TrainConfig c = config("resume_a", 100);
  c.max_steps = 30;
  c.eval_steps.clear();
  c.save_steps = {15};
  c.strategy.refine_stop_iter = 12;  // strategy randomness (splits) only before the checkpoint
  Trainer a(c);
  a.set_verbose(false);
  a.run();

  TrainConfig r = c;
  r.result_dir = (root_ / "resume_b").string();
  r.ckpt = (root_ / "resume_a" / "ckpts" / "ckpt_14.safetensors").string();
  Trainer b(r);
  b.set_verbose(false);
  EXPECT_EQ(b.start_step(), 15);
  b.run();
  auto pa = params(a.gaussians()), pb = params(b.gaussians());
  for (int i = 0; i < Gaussians::kGroups; ++i) EXPECT_EQ(pa[i], pb[i]) << Gaussians::group_name(i);
}

// --batch-size (gsplat batch_size): Adam's lr x sqrt(B), eps / sqrt(B), betas 1 - B (1 - beta); beta1 held at 0.
TEST(TrainConfigBatch, AdamScaling) {
  TrainConfig c;
  const AdamConfig one = c.adam_config(1, 0, 1.0f);
  EXPECT_FLOAT_EQ(one.lr, c.scales_lr);
  EXPECT_FLOAT_EQ(one.beta1, 0.9f);
  EXPECT_FLOAT_EQ(one.beta2, 0.999f);
  EXPECT_FLOAT_EQ(one.eps, 1e-15f);
  c.batch_size = 4;
  const AdamConfig four = c.adam_config(1, 0, 1.0f);
  EXPECT_FLOAT_EQ(four.lr, 2.0f * c.scales_lr);
  EXPECT_FLOAT_EQ(four.beta1, 0.6f);
  EXPECT_FLOAT_EQ(four.beta2, 0.996f);
  EXPECT_FLOAT_EQ(four.eps, 0.5e-15f);
  c.batch_size = 12;
  EXPECT_EQ(c.adam_config(0, 0, 1.0f).beta1, 0.0f);
  EXPECT_EQ(TrainConfig::from_json(c.to_json()).batch_size, 12);
  c.batch_size = 0;
  EXPECT_THROW(c.validate(), Error);
}

// Two views a step: half the steps reach the quality of the batch-1 test above, and resuming mid-run is exact
// (the views of step s are the samples 2s, 2s + 1 of the shuffled epochs).
TEST_F(TrainerTest, BatchOfTwoTrainsAndResumesExactly) {
  TrainConfig c = config("batch2", 150);
  c.batch_size = 2;
  c.sh_degree = 1;
  c.strategy.grow_grad2d = 0.0004f;
  Trainer t(c);
  t.set_verbose(false);
  const EvalStats before = t.evaluate(0, false);
  auto after = t.run();
  ASSERT_TRUE(after.has_value());
  std::printf("demo 48x48, batch 2, 150 steps: PSNR %.2f -> %.2f dB, %lld GSs\n", before.psnr, after->psnr,
              static_cast<long long>(after->num_gs));
  EXPECT_GT(after->psnr, 20.0);
  EXPECT_GT(after->psnr, before.psnr + 5.0);

  TrainConfig a = config("batch2_a", 100);
  a.batch_size = 2;
  a.max_steps = 24;
  a.eval_steps.clear();
  a.save_steps = {11};
  a.strategy.refine_stop_iter = 10;
  Trainer ta(a);
  ta.set_verbose(false);
  ta.run();
  TrainConfig b = a;
  b.result_dir = (root_ / "batch2_b").string();
  b.ckpt = (root_ / "batch2_a" / "ckpts" / "ckpt_10.safetensors").string();
  Trainer tb(b);
  tb.set_verbose(false);
  EXPECT_EQ(tb.start_step(), 11);
  tb.run();
  auto pa = params(ta.gaussians()), pb = params(tb.gaussians());
  for (int i = 0; i < Gaussians::kGroups; ++i) EXPECT_EQ(pa[i], pb[i]) << Gaussians::group_name(i);
}

TEST_F(TrainerTest, ResultFolderLayout) {
  TrainConfig c = config("layout", 100);
  c.max_steps = 20;
  c.eval_steps = {20};
  c.save_steps = {10, 20};
  c.ply_steps = {20};
  c.save_ply = true;
  c.tb_every = 5;
  c.tb_save_image = true;
  Trainer t(c);
  t.set_verbose(false);
  t.run();
  fs::path d = root_ / "layout";
  // TensorBoard: one event file with gsplat's scalars every 5 steps, the images, the evaluation
  // (tb_events_test decodes such files with an independent reader).
  std::vector<fs::path> events;
  for (auto& e : fs::directory_iterator(d / "tb")) events.push_back(e.path());
  ASSERT_EQ(events.size(), 1u);
  const std::string tb = read_file(events[0]);
  for (const char* tag : {"brain.Event:2", "train/loss", "train/l1loss", "train/ssimloss", "train/num_GS", "train/mem",
                          "train/lr_means", "train/render", "val/psnr"})
    EXPECT_NE(tb.find(tag), std::string::npos) << tag;
  for (const char* f : {"cfg.yml", "ckpts/ckpt_9.safetensors", "ckpts/ckpt_19.safetensors", "ply/point_cloud_19.ply",
                        "renders/val_step19_0000.png", "renders/val_step19_0003.png", "stats/val_step0019.json",
                        "stats/train_step0009.json", "stats/train_step0019.json"})
    EXPECT_TRUE(fs::exists(d / f)) << f;
  auto val = nlohmann::json::parse(read_file(d / "stats/val_step0019.json"));
  for (const char* k : {"psnr", "ssim", "lpips", "lpips_reason", "ellipse_time", "num_GS"})
    EXPECT_TRUE(val.contains(k)) << k;
  EXPECT_TRUE(val["lpips"].is_null());
  auto train = nlohmann::json::parse(read_file(d / "stats/train_step0019.json"));
  for (const char* k : {"mem", "ellipse_time", "num_GS"}) EXPECT_TRUE(train.contains(k)) << k;
  EXPECT_NE(read_file(d / "cfg.yml").find("init_type: \"random\""), std::string::npos);
  // No temporary files left behind by the atomic writes.
  for (auto& e : fs::recursive_directory_iterator(d))
    EXPECT_EQ(e.path().filename().string().rfind(".tmp.", 0), std::string::npos) << e.path();

  // Evaluating the checkpoint alone reproduces the metrics.
  TrainConfig ev = c;
  ev.ckpt = (d / "ckpts/ckpt_19.safetensors").string();
  ev.eval_only = true;
  ev.result_dir = (root_ / "layout_eval").string();
  Trainer e(ev);
  auto st = e.run();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->step, 19);
  EXPECT_NEAR(st->psnr, val["psnr"].get<double>(), 1e-9);
}

}  // namespace
}  // namespace vg
