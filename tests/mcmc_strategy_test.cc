// MCMCStrategy (3DGS as MCMC): the relocation correction against a direct evaluation of the paper's eq. 9,
// relocation / sample_add bookkeeping (parameters, Adam moments, cap), the multinomial sampler, the noise step
// against its formula and its statistics, and short CPU trainings with --strategy mcmc (count at the cap, loss
// down, exact resume from a checkpoint).
#include "splat/mcmc_strategy.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <chrono>
#include <cmath>

#include "pipeline/demo_scene.h"
#include "splat/checkpoint.h"
#include "splat/mcmc_kernels.h"
#include "splat/trainer.h"
#include "temp_dir.h"
#include "test_util.h"

namespace vg {
namespace {

using Adam6 = AdamState[Gaussians::kGroups];

float logit(double p) { return static_cast<float>(std::log(p / (1.0 - p))); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

Gaussians make_model(int64_t n, std::mt19937& rng, Adam6& adam) {
  Gaussians g;
  g.means = test::normal({n, 3}, 0.0f, 1.0f, rng);
  g.scales = test::uniform({n, 3}, -5.0f, -1.0f, rng);
  g.quats = test::normal({n, 4}, 0.0f, 1.0f, rng);
  g.opacities = test::uniform({n}, -2.0f, 3.0f, rng);
  g.sh0 = test::normal({n, 3}, 0.0f, 1.0f, rng);
  g.shN = test::normal({n, 3, 3}, 0.0f, 1.0f, rng);
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    adam[i].exp_avg = test::normal(g.group(i).shape(), 0.0f, 1.0f, rng);
    adam[i].exp_avg_sq = test::uniform(g.group(i).shape(), 0.1f, 1.0f, rng);
    adam[i].step = 7;
  }
  return g;
}

std::vector<float> row(const Tensor& t, int64_t r) {
  std::vector<float> v = t.to_vector<float>();
  const int64_t w = t.numel() / t.size(0);
  return {v.begin() + r * w, v.begin() + (r + 1) * w};
}

// Composited opacity along a line through N coincident copies, integrated over the line (the quantity eq. 9
// preserves): int 1 - (1 - o exp(-x^2 / (2 s^2)))^N dx, by the trapezoid rule on [-12 s, 12 s].
double line_integral(double o, double s, int n) {
  const int steps = 200000;
  const double a = -12 * s, h = 24 * s / steps;
  double sum = 0;
  for (int k = 0; k <= steps; ++k) {
    const double x = a + k * h;
    const double f = 1.0 - std::pow(1.0 - o * std::exp(-x * x / (2 * s * s)), n);
    sum += (k == 0 || k == steps ? 0.5 : 1.0) * f;
  }
  return sum * h;
}

// One source row copied onto n - 1 dead rows: every copy has the eq. 9 opacity and scale, whose n-fold
// composite equals the original at the centre (opacity) and integrated along any axis (scale).
TEST(MCMCRelocation, NCopiesRenderAsTheOriginal) {
  for (double o : {0.02, 0.3, 0.7, 0.95, 0.999}) {
    for (int n : {2, 3, 5, 10, 51}) {
      std::mt19937 rng(n);
      Adam6 adam;
      Gaussians g = make_model(n + 2, rng, adam);
      std::vector<float> opa = g.opacities.to_vector<float>();
      opa[0] = logit(o);
      for (int k = 1; k < n; ++k) opa[k] = logit(0.001);  // dead
      g.opacities = Tensor::from_vector(opa, {n + 2});
      const std::vector<float> s0 = row(g.scales, 0), other = row(g.means, n + 1);
      const std::vector<float> m_other = row(adam[0].exp_avg, n + 1), m_dead = row(adam[2].exp_avg_sq, 1);
      std::vector<int32_t> dead, sampled(static_cast<size_t>(n - 1), 0);
      for (int k = 1; k < n; ++k) dead.push_back(k);
      MCMCStrategy({}, 0, 0).relocate(g, adam, dead, sampled);

      const double on = sigmoid(g.opacities.to_vector<float>()[0]);
      if (on > 0.005 * 1.0001) {  // not clamped at min_opacity: the composite opacity is the original's
        EXPECT_NEAR(1.0 - std::pow(1.0 - on, n), o, 2e-5 * std::max(o, 0.05)) << "o " << o << " n " << n;
      }
      const std::vector<float> s1 = row(g.scales, 0);
      for (int j = 0; j < 3; ++j) {
        const double sigma0 = std::exp(s0[j]), sigma1 = std::exp(s1[j]);
        const double want = o * sigma0 * std::sqrt(2 * M_PI), got = line_integral(on, sigma1, n);
        EXPECT_NEAR(got / want, 1.0, 2e-4) << "o " << o << " n " << n << " axis " << j;
      }
      for (int k = 1; k < n; ++k)
        for (int i = 0; i < Gaussians::kGroups; ++i)
          EXPECT_EQ(row(g.group(i), k), row(g.group(i), 0)) << Gaussians::group_name(i) << " copy " << k;
      EXPECT_EQ(row(g.means, n + 1), other);  // rows not involved keep everything
      EXPECT_EQ(row(adam[0].exp_avg, n + 1), m_other);
      for (int i = 0; i < Gaussians::kGroups; ++i)  // gsplat zeroes the sampled rows' moments only
        for (float x : row(adam[i].exp_avg, 0)) EXPECT_EQ(x, 0.0f);
      EXPECT_EQ(row(adam[2].exp_avg_sq, 1), m_dead);
    }
  }
}

TEST(MCMCRelocation, MatchesTheGsplatFormula) {
  double binoms[detail::kRelocNMax * detail::kRelocNMax];
  detail::fill_binomial_table(binoms);
  EXPECT_EQ(binoms[50 * detail::kRelocNMax + 25], 126410606437752.0);  // C(50, 25)
  for (float o : {0.01f, 0.4f, 0.9f}) {
    for (int n : {1, 4, 12}) {
      float on, f;
      detail::relocation_one(o, n, binoms, 0.005f, &on, &f);
      const double want_on = std::max(1.0 - std::pow(1.0 - o, 1.0 / n), 0.005);  // floor: min_opacity
      EXPECT_NEAR(on, want_on, 1e-6);
      double denom = 0;  // eq. 9 term by term with std::tgamma binomials
      for (int i = 1; i <= n; ++i)
        for (int k = 0; k < i; ++k)
          denom += std::tgamma(i) / (std::tgamma(k + 1) * std::tgamma(i - k)) * std::pow(-1.0, k) *
                   std::pow(double(on), k + 1) / std::sqrt(k + 1.0);
      EXPECT_NEAR(f, o / denom, 1e-5 * o / denom) << o << " " << n;
    }
  }
  float on, f;
  detail::relocation_one(1e-6f, 3, binoms, 0.005f, &on, &f);
  EXPECT_EQ(on, 0.005f);  // clamped from below as gsplat
  detail::relocation_one(0.5f, 400, binoms, 0.005f, &on, &f);
  EXPECT_NEAR(on, 1.0 - std::pow(0.5, 1.0 / 51), 1e-6);  // ratios clamp at n_max = 51
}

TEST(MCMCStrategy, RelocateDeadLeavesNoDeadRows) {
  std::mt19937 rng(3);
  Adam6 adam;
  Gaussians g = make_model(500, rng, adam);
  std::vector<float> opa = g.opacities.to_vector<float>();
  for (int i = 0; i < 500; i += 7) opa[i] = -8.0f;  // 72 dead
  g.opacities = Tensor::from_vector(opa, {500});
  const Gaussians before = g.to(Device::cpu());
  MCMCStrategy s({}, 1, 2);
  EXPECT_EQ(s.relocate_dead(g, adam), 72);
  EXPECT_EQ(g.size(), 500);
  const std::vector<float> after = g.opacities.to_vector<float>();
  int changed = 0;
  for (int i = 0; i < 500; ++i) {
    EXPECT_GT(sigmoid(after[i]), 0.005) << i;
    if (i % 7 == 0) continue;
    if (after[i] != opa[i]) {  // a live row changes only as a relocation source: lower opacity, moments zeroed
      ++changed;
      EXPECT_LT(after[i], opa[i]);
      for (float x : row(adam[3].exp_avg, i)) EXPECT_EQ(x, 0.0f);
    } else {
      EXPECT_EQ(row(g.sh0, i), row(before.sh0, i));
    }
  }
  EXPECT_GT(changed, 30);
  EXPECT_EQ(s.relocate_dead(g, adam), 0);
}

TEST(MCMCStrategy, AddNewGrowsFivePercentUpToTheCap) {
  std::mt19937 rng(4);
  Adam6 adam;
  Gaussians g = make_model(1000, rng, adam);
  MCMCConfig cfg;
  cfg.cap_max = 1080;
  MCMCStrategy s(cfg, 1, 2);
  EXPECT_EQ(s.add_new(g, adam), 50);
  EXPECT_EQ(g.size(), 1050);
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    EXPECT_EQ(adam[i].exp_avg.shape(), g.group(i).shape());
    for (int64_t r = 1000; r < 1050; ++r)
      for (float x : row(adam[i].exp_avg_sq, r)) EXPECT_EQ(x, 0.0f);
  }
  EXPECT_EQ(s.add_new(g, adam), 30);
  EXPECT_EQ(g.size(), 1080);
  EXPECT_EQ(s.add_new(g, adam), 0);

  // sample_add with a given draw: the sources are corrected (ratio 1 + draws) and appended in draw order.
  Adam6 a2;
  Gaussians h = make_model(4, rng, a2);
  const std::vector<float> o0 = h.opacities.to_vector<float>();
  MCMCStrategy({}, 0, 0).sample_add(h, a2, {2, 0, 2});
  ASSERT_EQ(h.size(), 7);
  const std::vector<float> o1 = h.opacities.to_vector<float>();
  EXPECT_NEAR(1 - std::pow(1 - sigmoid(o1[2]), 3), sigmoid(o0[2]), 1e-5);
  EXPECT_NEAR(1 - std::pow(1 - sigmoid(o1[0]), 2), sigmoid(o0[0]), 1e-5);
  EXPECT_EQ(o1[1], o0[1]);
  EXPECT_EQ(row(h.means, 4), row(h.means, 2));
  EXPECT_EQ(row(h.shN, 5), row(h.shN, 0));
  EXPECT_EQ(row(h.scales, 6), row(h.scales, 2));
}

TEST(MCMCStrategy, MultinomialFollowsTheWeights) {
  std::mt19937_64 rng(9);
  const std::vector<float> w = {0.1f, 0.0f, 0.6f, 0.3f};
  const std::vector<int32_t> s = MCMCStrategy::multinomial(w, 200000, rng);
  std::vector<int> c(4, 0);
  for (int32_t i : s) ++c[i];
  EXPECT_EQ(c[1], 0);
  for (int i : {0, 2, 3}) EXPECT_NEAR(c[i] / 200000.0, w[i], 0.005) << i;
  std::mt19937_64 a(5), b(5);
  EXPECT_EQ(MCMCStrategy::multinomial(w, 100, a), MCMCStrategy::multinomial(w, 100, b));
}

// The displacement of each mean equals sigmoid(-100 (o - 0.005)) * noise_scale * Sigma z, Sigma = R S^2 R^T.
TEST(MCMCNoise, MatchesTheFormula) {
  std::mt19937 rng(5);
  Adam6 adam;
  Gaussians g = make_model(64, rng, adam);
  std::vector<float> opa = g.opacities.to_vector<float>();
  for (int i = 0; i < 64; ++i) opa[i] = i % 2 ? -9.0f : (i % 4 ? 5.0f : -4.5f);  // below, far above, near t
  g.opacities = Tensor::from_vector(opa, {64});
  const Gaussians g0 = g.to(Device::cpu());
  MCMCStrategy s({}, 77, 0);
  s.inject_noise(g, 0.5f, 123);
  const std::vector<float> m0 = g0.means.to_vector<float>(), m1 = g.means.to_vector<float>();
  const std::vector<float> q = g0.quats.to_vector<float>(), sc = g0.scales.to_vector<float>();
  for (int i = 0; i < 64; ++i) {
    Eigen::Quaterniond quat(q[4 * i], q[4 * i + 1], q[4 * i + 2], q[4 * i + 3]);
    const Eigen::Matrix3d R = quat.normalized().toRotationMatrix();
    const Eigen::Vector3d s2(std::exp(2.0 * sc[3 * i]), std::exp(2.0 * sc[3 * i + 1]), std::exp(2.0 * sc[3 * i + 2]));
    const Eigen::Matrix3d cov = R * s2.asDiagonal() * R.transpose();
    float z[3];
    detail::normal3(77, i, 123, z);
    const double gate = 1.0 / (1.0 + std::exp(100.0 * (sigmoid(opa[i]) - 0.005)));
    const Eigen::Vector3d want = cov * Eigen::Vector3d(z[0], z[1], z[2]) * (gate * 0.5);
    for (int j = 0; j < 3; ++j)
      EXPECT_NEAR(m1[3 * i + j] - m0[3 * i + j], want[j], 1e-6 + 1e-4 * std::abs(want[j])) << i << " " << j;
    if (opa[i] == 5.0f) {
      for (int j = 0; j < 3; ++j) EXPECT_EQ(m1[3 * i + j], m0[3 * i + j]);  // opaque: the gate is ~1e-43
    }
  }
  Gaussians h = g0.to(Device::cpu());
  s.inject_noise(h, 0.5f, 124);  // another step: other normals
  EXPECT_NE(h.means.to_vector<float>(), m1);
}

// Over many identical low-opacity Gaussians the displacements have covariance (gate * scale)^2 Sigma^2.
TEST(MCMCNoise, CovarianceScalesWithTheGaussian) {
  const int n = 40000;
  std::vector<float> means(3 * n, 0.0f), scales, quats, opa(n, -12.0f);
  const float ls[3] = {std::log(0.5f), std::log(0.2f), std::log(1.0f)};
  const float qv[4] = {0.9f, 0.3f, -0.2f, 0.25f};
  for (int i = 0; i < n; ++i) {
    scales.insert(scales.end(), ls, ls + 3);
    quats.insert(quats.end(), qv, qv + 4);
  }
  Gaussians g;
  g.means = Tensor::from_vector(means, {n, 3});
  g.scales = Tensor::from_vector(scales, {n, 3});
  g.quats = Tensor::from_vector(quats, {n, 4});
  g.opacities = Tensor::from_vector(opa, {n});
  const float ns = 0.01f;
  MCMCStrategy({}, 3, 0).inject_noise(g, ns, 9);
  const std::vector<float> d = g.means.to_vector<float>();
  Eigen::Matrix3d emp = Eigen::Matrix3d::Zero();
  for (int i = 0; i < n; ++i) {
    Eigen::Vector3d v(d[3 * i], d[3 * i + 1], d[3 * i + 2]);
    emp += v * v.transpose() / n;
  }
  const Eigen::Matrix3d R = Eigen::Quaterniond(qv[0], qv[1], qv[2], qv[3]).normalized().toRotationMatrix();
  const Eigen::Vector3d s2(0.25, 0.04, 1.0);
  const Eigen::Matrix3d cov = R * s2.asDiagonal() * R.transpose();
  const double gate = 1.0 / (1.0 + std::exp(100.0 * (sigmoid(-12.0) - 0.005)));
  const Eigen::Matrix3d want = cov * cov * (gate * ns) * (gate * ns);
  EXPECT_LT((emp - want).norm() / want.norm(), 0.03) << emp << "\nvs\n" << want;
}

TEST(MCMCNoise, CounterBasedNormals) {
  double sum = 0, sq = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    float z[3];
    detail::normal3(42, i, 7, z);
    for (float x : z) sum += x, sq += double(x) * x;
  }
  EXPECT_NEAR(sum / (3 * n), 0.0, 0.01);
  EXPECT_NEAR(sq / (3 * n), 1.0, 0.01);
  float a[3], b[3];
  detail::normal3(42, 5, 7, a);
  detail::normal3(42, 5, 7, b);
  EXPECT_EQ(std::vector<float>(a, a + 3), std::vector<float>(b, b + 3));
  detail::normal3(43, 5, 7, b);
  EXPECT_NE(std::vector<float>(a, a + 3), std::vector<float>(b, b + 3));
}

// gsplat noise_injection_stop_iter: the means take the noise step before it and none from it on (-1: always).
TEST(MCMCNoise, StopsAtNoiseInjectionStopIter) {
  std::mt19937 rng(8);
  Adam6 adam;
  Gaussians g0 = make_model(32, rng, adam);
  g0.opacities = Tensor::full({32}, -9.0f);  // all transparent: the gate is ~1, every mean moves
  MCMCConfig cfg;
  cfg.refine_start_iter = 1 << 30;  // no relocation / growth: only the noise step
  cfg.noise_injection_stop_iter = 50;
  auto moved = [&](const MCMCConfig& c, int step) {
    Gaussians g = g0.to(Device::cpu());
    MCMCStrategy(c, 1, 0).step_post_optimizer(step, g, adam, 1e-6);
    return g.means.to_vector<float>() != g0.means.to_vector<float>();
  };
  EXPECT_TRUE(moved(cfg, 49));
  EXPECT_FALSE(moved(cfg, 50));
  EXPECT_FALSE(moved(cfg, 10000));
  cfg.noise_injection_stop_iter = -1;
  EXPECT_TRUE(moved(cfg, 10000));
}

TEST(MCMCConfig, JsonRoundTripAndValidation) {
  TrainConfig c;
  c.strategy_type = "mcmc";
  c.mcmc.cap_max = 12345;
  c.mcmc.noise_lr = 1e4f;
  c.mcmc.refine_every = 7;
  c.mcmc.min_opacity = 0.01f;
  c.opacity_reg = 0.02f;
  c.scale_reg = 0.03f;
  c.mcmc.noise_injection_stop_iter = 20000;
  const TrainConfig r = TrainConfig::from_json(c.to_json());
  EXPECT_EQ(r.strategy_type, "mcmc");
  EXPECT_EQ(r.mcmc.cap_max, 12345);
  EXPECT_EQ(r.mcmc.noise_lr, 1e4f);
  EXPECT_EQ(r.mcmc.refine_every, 7);
  EXPECT_EQ(r.mcmc.min_opacity, 0.01f);
  EXPECT_EQ(r.opacity_reg, 0.02f);
  EXPECT_EQ(r.scale_reg, 0.03f);
  EXPECT_EQ(r.mcmc.noise_injection_stop_iter, 20000);
  EXPECT_NE(c.to_yaml().find("cap_max: 12345"), std::string::npos);
  c.adjust_steps(0.5f);
  EXPECT_EQ(c.mcmc.refine_every, 3);
  EXPECT_EQ(c.mcmc.refine_stop_iter, 12500);
  EXPECT_EQ(c.mcmc.noise_injection_stop_iter, 10000);  // scaled as gsplat's adjust_steps, when set
  TrainConfig bad;
  bad.strategy_type = "mcmcc";
  EXPECT_NE(test::error_of([&] { bad.validate(); }).find("--strategy must be default or mcmc"), std::string::npos);
  bad.strategy_type = "mcmc";
  bad.mcmc.cap_max = 0;
  EXPECT_NE(test::error_of([&] { bad.validate(); }).find("--cap-max"), std::string::npos);
}

// ---- short CPU trainings on the demo scene ----------------------------------------------------

class MCMCTrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    demo::SceneOptions o;
    o.width = o.height = 48;
    o.n_train = 16;
    o.n_test = 4;
    demo::write_scene(dir().path / "data", o);
  }
  static test::TempDir& dir() {
    static test::TempDir d("mcmc_train");
    return d;
  }
  // simple_trainer's mcmc preset on the demo schedule, refining every 10 steps from step 10.
  static TrainConfig config(const std::string& name, int max_steps, int64_t cap) {
    TrainConfig c = demo::train_config(dir().path / "data", dir().path / name, 300, "cpu");
    c.lpips_weights.clear();
    c.max_steps = max_steps;
    c.eval_steps = {max_steps};
    c.save_steps = {max_steps};
    c.tb_every = 0;
    c.disable_video = true;
    c.save_ply = false;
    c.save_every_min = 0;
    c.sh_degree = 1;
    c.init_num_pts = 1000;
    c.strategy_type = "mcmc";
    c.init_opa = 0.5f;
    c.init_scale = 0.1f;
    c.opacity_reg = 0.01f;
    c.scale_reg = 0.01f;
    c.mcmc.cap_max = cap;
    c.mcmc.refine_start_iter = 5;
    c.mcmc.refine_every = 10;
    c.mcmc.refine_stop_iter = max_steps - 20;
    return c;
  }
};

TEST_F(MCMCTrainTest, ReachesTheCapAndLowersTheLoss) {
  ::unsetenv("VGSPLAT_LPIPS_WEIGHTS");
  const TrainConfig c = config("quality", 300, 1500);
  Trainer t(c);
  t.set_verbose(false);
  const EvalStats before = t.evaluate(0, false);
  std::vector<float> losses;  // the training loss (photometric + regularisers) every 10 steps
  int64_t max_count = 0;
  const auto tic = std::chrono::steady_clock::now();
  for (int step = 0; step < c.max_steps; ++step) {
    const float l = t.train_step(step, step % 10 == 0);
    if (step % 10 == 0) losses.push_back(l);
    max_count = std::max(max_count, t.gaussians().size());
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - tic).count();
  const EvalStats after = t.evaluate(c.max_steps - 1, false);
  const double first = (losses[0] + losses[1] + losses[2]) / 3;
  const double last = (losses[losses.size() - 1] + losses[losses.size() - 2] + losses[losses.size() - 3]) / 3;
  std::printf("mcmc demo 48x48, 300 steps: loss %.4f -> %.4f, PSNR %.2f -> %.2f dB, %lld GSs (cap 1500), %.1f s\n",
              first, last, before.psnr, after.psnr, static_cast<long long>(t.gaussians().size()), secs);
  EXPECT_EQ(t.gaussians().size(), 1500);
  EXPECT_EQ(max_count, 1500);
  EXPECT_LT(last, 0.6 * first);
  EXPECT_GT(after.psnr, before.psnr + 5.0);
}

TEST_F(MCMCTrainTest, ResumeFromACheckpointIsExact) {
  TrainConfig a = config("resume_a", 40, 1300);
  a.mcmc.refine_start_iter = 3;  // relocation and growth (host draws) and noise on both sides of the checkpoint
  a.mcmc.refine_every = 5;
  a.mcmc.refine_stop_iter = 38;
  a.save_steps = {20, 40};
  Trainer ta(a);
  ta.set_verbose(false);
  ta.run();
  TrainConfig b = a;
  b.result_dir = (dir().path / "resume_b").string();
  b.ckpt = (dir().path / "resume_a" / "ckpts" / "ckpt_19.safetensors").string();
  Trainer tb(b);
  tb.set_verbose(false);
  EXPECT_EQ(tb.start_step(), 20);
  tb.run();
  ASSERT_EQ(ta.gaussians().size(), tb.gaussians().size());
  for (int i = 0; i < Gaussians::kGroups; ++i)
    EXPECT_EQ(ta.gaussians().group(i).to_vector<float>(), tb.gaussians().group(i).to_vector<float>())
        << Gaussians::group_name(i);
  const Checkpoint ca = load_checkpoint(dir().path / "resume_a" / "ckpts" / "ckpt_39.safetensors");
  const Checkpoint cb = load_checkpoint(dir().path / "resume_b" / "ckpts" / "ckpt_39.safetensors");
  EXPECT_EQ(ca.strategy_rng, cb.strategy_rng);
  EXPECT_FALSE(ca.strategy.grad2d.defined());  // MCMC keeps no gradient statistics
  EXPECT_EQ(TrainConfig::from_json(ca.config_json).strategy_type, "mcmc");
}

}  // namespace
}  // namespace vg
