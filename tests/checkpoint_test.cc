#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include <unistd.h>

#include "core/fs.h"
#include "splat/checkpoint.h"
#include "splat/train_config.h"
#include "test_util.h"

namespace vg {
namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Checkpoint random_checkpoint(int64_t n) {
  std::mt19937 rng(7);
  Checkpoint c;
  c.step = 6999;
  c.scene_scale = 4.4f;
  Shape shapes[Gaussians::kGroups] = {{n, 3}, {n, 3}, {n, 4}, {n}, {n, 3}, {n, 15, 3}};
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    c.gaussians.group(i) = test::normal(shapes[i], 0, 1, rng);
    c.adam[i].exp_avg = test::normal(shapes[i], 0, 1, rng);
    c.adam[i].exp_avg_sq = test::uniform(shapes[i], 0, 1, rng);
    c.adam[i].step = 7000 + i;
  }
  c.strategy.grad2d = test::uniform({n}, 0, 1, rng);
  c.strategy.count = test::uniform({n}, 0, 5, rng);
  TrainConfig cfg;
  cfg.max_steps = 1234;
  cfg.eval_steps = {5, 6};
  cfg.strategy.absgrad = true;
  c.config_json = cfg.to_json();
  return c;
}

TEST(Checkpoint, RoundTrip) {
  fs::path dir = temp_dir("ckpt");
  Checkpoint c = random_checkpoint(37);
  save_checkpoint(dir / "ckpts" / "ckpt_6999.safetensors", c);
  Checkpoint r = load_checkpoint(dir / "ckpts" / "ckpt_6999.safetensors");
  EXPECT_EQ(r.step, 6999);
  EXPECT_FLOAT_EQ(r.scene_scale, 4.4f);
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    EXPECT_EQ(r.gaussians.group(i).shape(), c.gaussians.group(i).shape());
    EXPECT_EQ(r.gaussians.group(i).to_vector<float>(), c.gaussians.group(i).to_vector<float>());
    EXPECT_EQ(r.adam[i].exp_avg.to_vector<float>(), c.adam[i].exp_avg.to_vector<float>());
    EXPECT_EQ(r.adam[i].exp_avg_sq.to_vector<float>(), c.adam[i].exp_avg_sq.to_vector<float>());
    EXPECT_EQ(r.adam[i].step, 7000 + i);
  }
  EXPECT_EQ(r.strategy.grad2d.to_vector<float>(), c.strategy.grad2d.to_vector<float>());
  EXPECT_EQ(r.strategy.count.to_vector<float>(), c.strategy.count.to_vector<float>());
  TrainConfig cfg = TrainConfig::from_json(r.config_json);
  EXPECT_EQ(cfg.max_steps, 1234);
  EXPECT_EQ(cfg.eval_steps, (std::vector<int>{5, 6}));
  EXPECT_TRUE(cfg.strategy.absgrad);
  fs::remove_all(dir);
}

// --pose-opt: the [images, 9] residuals and their Adam state; the pose options in the config JSON.
TEST(Checkpoint, PoseEmbeddingAndConfigRoundTrip) {
  fs::path dir = temp_dir("ckpt_pose");
  Checkpoint c = random_checkpoint(11);
  std::mt19937 rng(9);
  c.pose_adjust = test::normal({6, 9}, 0, 0.01f, rng);
  c.pose_adam.exp_avg = test::normal({6, 9}, 0, 1, rng);
  c.pose_adam.exp_avg_sq = test::uniform({6, 9}, 0, 1, rng);
  c.pose_adam.step = 321;
  TrainConfig cfg;
  cfg.pose_opt = true, cfg.pose_opt_lr = 3e-4f, cfg.pose_opt_reg = 2e-6f, cfg.pose_noise = 0.05f;
  cfg.pose_opt_lr_final = 0.1f;
  c.config_json = cfg.to_json();
  save_checkpoint(dir / "c.safetensors", c);
  Checkpoint r = load_checkpoint(dir / "c.safetensors");
  EXPECT_EQ(r.pose_adjust.to_vector<float>(), c.pose_adjust.to_vector<float>());
  EXPECT_EQ(r.pose_adam.exp_avg.to_vector<float>(), c.pose_adam.exp_avg.to_vector<float>());
  EXPECT_EQ(r.pose_adam.exp_avg_sq.to_vector<float>(), c.pose_adam.exp_avg_sq.to_vector<float>());
  EXPECT_EQ(r.pose_adam.step, 321);
  TrainConfig rc = TrainConfig::from_json(r.config_json);
  EXPECT_TRUE(rc.pose_opt);
  EXPECT_FLOAT_EQ(rc.pose_opt_lr, 3e-4f);
  EXPECT_FLOAT_EQ(rc.pose_opt_reg, 2e-6f);
  EXPECT_FLOAT_EQ(rc.pose_noise, 0.05f);
  EXPECT_FLOAT_EQ(rc.pose_opt_lr_final, 0.1f);
  EXPECT_NE(cfg.to_yaml().find("pose_opt: true"), std::string::npos);
  // Defaults (gsplat's): off, lr 1e-5, weight decay 1e-6, no noise; negative values are refused.
  TrainConfig d = TrainConfig::from_json("{}");
  EXPECT_FALSE(d.pose_opt);
  EXPECT_FLOAT_EQ(d.pose_opt_lr, 1e-5f);
  EXPECT_FLOAT_EQ(d.pose_opt_reg, 1e-6f);
  EXPECT_EQ(d.pose_noise, 0.f);
  d.pose_noise = -1;
  EXPECT_THROW(d.validate(), Error);
  // A checkpoint without pose optimisation has none.
  save_checkpoint(dir / "plain.safetensors", random_checkpoint(5));
  EXPECT_FALSE(load_checkpoint(dir / "plain.safetensors").pose_adjust.defined());
  fs::remove_all(dir);
}

TEST(Checkpoint, RejectsTruncatedAndForeignFiles) {
  fs::path dir = temp_dir("ckpt_bad");
  fs::path p = dir / "c.safetensors";
  save_checkpoint(p, random_checkpoint(5));
  std::string bytes = read_file(p);
  write_file_atomic(dir / "trunc.safetensors", bytes.substr(0, bytes.size() - 10));
  EXPECT_THROW(load_checkpoint(dir / "trunc.safetensors"), Error);
  write_file_atomic(dir / "short.safetensors", bytes.substr(0, 5));
  EXPECT_THROW(load_checkpoint(dir / "short.safetensors"), Error);
  write_file_atomic(dir / "junk.safetensors", std::string("\x10\0\0\0\0\0\0\0{\"a\":1}         ", 24));
  EXPECT_THROW(load_checkpoint(dir / "junk.safetensors"), Error);
  EXPECT_THROW(load_checkpoint(dir / "missing.safetensors"), Error);
  fs::remove_all(dir);
}

TEST(TrainConfig, StepsScalerAndLr) {
  TrainConfig c;
  c.adjust_steps(0.25f);
  EXPECT_EQ(c.max_steps, 7500);
  EXPECT_EQ(c.eval_steps, (std::vector<int>{1750, 7500}));
  EXPECT_EQ(c.strategy.refine_every, 25);
  EXPECT_EQ(c.strategy.reset_every, 750);
  EXPECT_EQ(c.sh_degree_interval, 250);
  EXPECT_NEAR(c.lr(0, 0, 2.0f), 3.2e-4, 1e-10);
  EXPECT_NEAR(c.lr(0, c.max_steps, 2.0f), 3.2e-6, 1e-11);  // decays to 1% at max_steps
  EXPECT_NEAR(c.lr(5, 100, 2.0f), 2.5e-3 / 20, 1e-10);
  std::string yml = c.to_yaml();
  EXPECT_NE(yml.find("max_steps: 7500"), std::string::npos);
  EXPECT_NE(yml.find("  refine_every: 25"), std::string::npos);
}

}  // namespace
}  // namespace vg
