// --post-processing bilateral_grid in the trainer (splat/bilateral_grid_opt.h):
//  - the learning rate follows torch's ChainedScheduler(LinearLR(0.01, 1000), ExponentialLR(0.01^(1/max_steps)))
//    stepped multiplicatively as torch does;
//  - short CPU trainings on the demo scene whose training photos have different exposures: with the grids the
//    training loss ends lower than without, and each image's grid brightens or darkens as its photo was;
//  - checkpoints carry the grids and their Adam state (resume is exact); the options' JSON and resume command.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

#include "io/image.h"
#include "pipeline/demo_scene.h"
#include "splat/bilateral_grid_opt.h"
#include "splat/resume_command.h"
#include "splat/trainer.h"

namespace vg {
namespace {

namespace fs = std::filesystem;

TEST(BilateralGridOpt, LearningRateAsTorchChainedScheduler) {
  BilateralGridConfig c;
  c.max_steps = 3000;
  BilateralGridOptimizer o(2, c, Device::cpu());
  // torch's chainable forms: LinearLR multiplies by 1 + (end - start) / (total * start + (e - 1) (end - start))
  // up to total_iters, ExponentialLR by gamma, starting from lr * start_factor.
  double lr = static_cast<double>(2e-3f) * 0.01;  // the config's float lr
  const double gamma = std::pow(0.01, 1.0 / 3000);
  for (int e = 0; e <= 3000; ++e) {
    if (e > 0) {
      if (e <= 1000) lr *= 1.0 + 0.99 / (1000 * 0.01 + (e - 1) * 0.99);
      lr *= gamma;
    }
    if (e % 250 == 0 || e == 999 || e == 1001) ASSERT_NEAR(o.lr(e), lr, 1e-12) << e;
  }
  EXPECT_NEAR(o.lr(0), 2e-5, 1e-11);
  EXPECT_NEAR(o.lr(3000), 2e-5, 1e-11);  // warm-up done, decayed to 1 %
  EXPECT_EQ(o.grids().shape(), Shape({2, 12, 8, 16, 16}));
}

// The demo scene (data/), and the same with training photo i scaled by exposure(i) in 0.6 ... 1.4, clipped
// (expo/): the scene seen with changing exposure.
class BilateralGridTrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("vgsplat_bilagrid_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    demo::SceneOptions o;
    o.width = o.height = 48;
    o.n_train = kTrain;
    o.n_test = 2;
    demo::write_scene(root_ / "data", o);
    fs::copy(root_ / "data", root_ / "expo", fs::copy_options::recursive);
    for (int i = 0; i < o.n_train; ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "train_%03d.png", i);
      const fs::path f = root_ / "expo" / "images" / name;
      Image img = read_image(f);
      for (float& v : img.pixels) v = std::min(1.0f, v * exposure(i));
      write_png(f, img);
    }
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static constexpr int kTrain = 6;
  static float exposure(int i) { return 0.6f + 0.8f * static_cast<float>(i) / (kTrain - 1); }

  static TrainConfig config(const std::string& data, const std::string& name, int steps, bool grid) {
    TrainConfig c = demo::train_config(root_ / data, root_ / name, std::max(steps, 100), "cpu");
    c.max_steps = steps;
    c.init_num_pts = 1500;
    c.sh_degree = 0;
    c.lpips_weights.clear();
    c.eval_steps.clear();
    c.save_steps.clear();
    c.tb_every = 0;
    c.disable_video = true;
    if (grid) {
      c.use_color_correction_metric = true;
      c.post_processing = "bilateral_grid";
      c.bilateral_grid_shape = {4, 4, 4};
      c.bilateral_grid_lr = 0.02f;  // a short run: gsplat's 2e-3 would barely move the grids (more overshoots)
      c.bilateral_grid_warmup = 10;
    }
    return c;
  }
  static fs::path root_;
};
fs::path BilateralGridTrainTest::root_;

// From a scene trained 60 steps on the photos as taken, 48 more (of a 400-step schedule) on the photos with
// changing exposure: with the grids the training loss ends lower, each grid brings its image's render closer to
// the photo, and brightens it about as much as the photo's exposure.
TEST_F(BilateralGridTrainTest, LowersTheLossOnPhotosWithChangingExposure) {
  const int start = 60;
  TrainConfig pre = config("data", "pre", start, false);
  pre.save_steps = {start};
  Trainer tp(pre);
  tp.set_verbose(false);
  tp.run();
  const int steps = start + 48, n = kTrain;  // 8 epochs
  double last_epoch[2] = {0, 0};
  for (int grid = 0; grid < 2; ++grid) {
    TrainConfig c = config("expo", grid ? "grid" : "plain", 400, grid == 1);  // run to `steps` of 400
    c.strategy = pre.strategy;  // the same (scaled) densification schedule
    c.ckpt = (root_ / "pre" / "ckpts" / ("ckpt_" + std::to_string(start - 1) + ".safetensors")).string();
    Trainer t(c);
    t.set_verbose(false);
    ASSERT_EQ(t.start_step(), start);
    for (int s = start; s < steps; ++s) {
      float l = t.train_step(s, true);
      ASSERT_TRUE(std::isfinite(l)) << s;
      if (grid) {  // the photometric part (train_step's loss includes 10 TV)
        const float tv = t.bilateral_grid()->tv_loss().item();
        if (s == steps - 1) std::printf("[bilateral_grid] TV loss at the end: %.5f\n", tv);
        l -= tv;
      }
      if (s >= steps - n) last_epoch[grid] += l / n;
    }
    if (!grid) continue;
    // Each image's grid on its own render: it brightens the brighter photos' renders.
    const BilateralGridOptimizer* bg = t.bilateral_grid();
    ASSERT_NE(bg, nullptr);
    std::vector<double> gain, expo;
    double raw_l1 = 0, sliced_l1 = 0;  // mean |render - photo| without / with the image's grid
    for (int i = 0; i < n; ++i) {
      const Tensor render = render_view(t.gaussians(), t.train_camera(i), 0, t.config()).raster.colors;
      const std::vector<float> photo = t.dataset().load_image(t.dataset().train[i]).to_vector<float>();
      const std::vector<float> r = render.to_vector<float>(), sl = bg->slice(i, render).to_vector<float>();
      double in = 0, out = 0;
      for (size_t k = 0; k < photo.size(); ++k) {
        raw_l1 += std::abs(r[k] - photo[k]) / static_cast<double>(photo.size() * n);
        sliced_l1 += std::abs(sl[k] - photo[k]) / static_cast<double>(photo.size() * n);
        in += r[k], out += sl[k];
      }
      gain.push_back(out / in);
      const std::string name = t.dataset().train[i].image_path.filename().string();
      expo.push_back(exposure(std::stoi(name.substr(6, 3))));
    }
    double mg = 0, me = 0;
    for (int i = 0; i < n; ++i) mg += gain[i] / n, me += expo[i] / n;
    double cov = 0, vg = 0, ve = 0;
    for (int i = 0; i < n; ++i) {
      cov += (gain[i] - mg) * (expo[i] - me);
      vg += (gain[i] - mg) * (gain[i] - mg), ve += (expo[i] - me) * (expo[i] - me);
    }
    const double corr = cov / std::sqrt(vg * ve);
    std::printf("[bilateral_grid] grids' gain on their renders vs the photos' exposure: correlation %.3f\n", corr);
    std::printf("[bilateral_grid] L1 of the training renders vs the photos: %.4f raw, %.4f through their grids\n",
                raw_l1, sliced_l1);
    EXPECT_GT(corr, 0.85);
    EXPECT_LT(sliced_l1, 0.8 * raw_l1);
    // Evaluation with gsplat's colour-corrected metrics (the test views have no grid): reported beside the plain
    // ones, and no worse than them by more than the affine fit's inverse can cost.
    const EvalStats ev = t.evaluate(steps - 1, false);
    ASSERT_TRUE(ev.cc_psnr && ev.cc_ssim);
    std::printf("[bilateral_grid] test views: PSNR %.3f, CC_PSNR %.3f; SSIM %.4f, CC_SSIM %.4f\n", ev.psnr, *ev.cc_psnr,
                ev.ssim, *ev.cc_ssim);
    EXPECT_TRUE(std::isfinite(*ev.cc_psnr));
    EXPECT_GT(*ev.cc_psnr, ev.psnr - 0.5);
    EXPECT_FALSE(ev.cc_lpips);  // no LPIPS weights here
  }
  std::printf("[bilateral_grid] last-epoch training loss: %.4f without grids, %.4f with\n", last_epoch[0],
              last_epoch[1]);
  EXPECT_LT(last_epoch[1], 0.95 * last_epoch[0]);
}

TEST_F(BilateralGridTrainTest, CheckpointResumeIsExact) {
  TrainConfig c = config("expo", "resume_a", 20, true);
  c.save_steps = {10};
  c.strategy.refine_stop_iter = 8;
  Trainer a(c);
  a.set_verbose(false);
  a.run();
  TrainConfig r = c;
  r.result_dir = (root_ / "resume_b").string();
  r.ckpt = (root_ / "resume_a" / "ckpts" / "ckpt_9.safetensors").string();
  Trainer b(r);
  b.set_verbose(false);
  ASSERT_EQ(b.start_step(), 10);
  b.run();
  EXPECT_EQ(a.bilateral_grid()->grids().to_vector<float>(), b.bilateral_grid()->grids().to_vector<float>());
  EXPECT_EQ(a.bilateral_grid()->adam().exp_avg_sq.to_vector<float>(),
            b.bilateral_grid()->adam().exp_avg_sq.to_vector<float>());
  EXPECT_EQ(b.bilateral_grid()->adam().step, 20);
  EXPECT_EQ(a.gaussians().means.to_vector<float>(), b.gaussians().means.to_vector<float>());
  // The grids moved away from identity.
  EXPECT_NE(a.bilateral_grid()->grids().to_vector<float>(),
            bilateral_grid_identity(kTrain, {4, 4, 4}).to_vector<float>());
}

TEST(BilateralGridOpt, OptionsRoundTripAndResumeCommand) {
  TrainConfig c;
  c.data_dir = "d", c.result_dir = "r";
  c.post_processing = "bilateral_grid";
  c.bilateral_grid_shape = {8, 6, 4};
  c.bilateral_grid_lr = 0.01f;
  c.bilateral_grid_warmup = 50;
  c.use_color_correction_metric = true;
  c.color_correct_method = "quadratic";
  c.validate();
  const TrainConfig rc = TrainConfig::from_json(c.to_json());
  EXPECT_EQ(rc.post_processing, "bilateral_grid");
  EXPECT_EQ(rc.bilateral_grid_shape, (std::array<int, 3>{8, 6, 4}));
  EXPECT_FLOAT_EQ(rc.bilateral_grid_lr, 0.01f);
  EXPECT_EQ(rc.bilateral_grid_warmup, 50);
  EXPECT_TRUE(rc.use_color_correction_metric);
  EXPECT_EQ(rc.color_correct_method, "quadratic");
  EXPECT_NE(c.to_yaml().find("post_processing: \"bilateral_grid\""), std::string::npos);
  const std::string cmd = resume_command(c, "ck.safetensors");
  EXPECT_NE(cmd.find("--post-processing bilateral_grid --bilateral-grid-shape 8,6,4 --bilateral-grid-lr 0.01 "
                     "--bilateral-grid-warmup 50"),
            std::string::npos)
      << cmd;
  EXPECT_NE(cmd.find("--use-color-correction-metric --color-correct-method quadratic"), std::string::npos) << cmd;
  EXPECT_EQ(resume_command(TrainConfig{}, "x").find("post-processing"), std::string::npos);
  c.color_correct_method = "gamma";
  EXPECT_THROW(c.validate(), Error);
  c.color_correct_method = "affine";
  c.post_processing = "ppisp";
  EXPECT_THROW(c.validate(), Error);
  EXPECT_EQ(TrainConfig::from_json("{}").post_processing, "none");
}

}  // namespace
}  // namespace vg
