#include "splat/strategy.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace vg {
namespace {

using Adam6 = AdamState[Gaussians::kGroups];

// Random model (sh degree 1) whose Adam moments hold random values and a step count of 7.
Gaussians make_model(int64_t n, std::mt19937& rng, Adam6& adam) {
  Gaussians g;
  g.means = test::normal({n, 3}, 0.0f, 1.0f, rng);
  g.scales = test::uniform({n, 3}, -5.0f, -1.0f, rng);
  g.quats = test::normal({n, 4}, 0.0f, 1.0f, rng);
  g.opacities = test::uniform({n}, 0.0f, 2.0f, rng);
  g.sh0 = test::normal({n, 3}, 0.0f, 1.0f, rng);
  g.shN = test::normal({n, 3, 3}, 0.0f, 1.0f, rng);
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    adam[i].exp_avg = test::normal(g.group(i).shape(), 0.0f, 1.0f, rng);
    adam[i].exp_avg_sq = test::uniform(g.group(i).shape(), 0.0f, 1.0f, rng);
    adam[i].step = 7;
  }
  return g;
}

std::vector<float> row(const Tensor& t, int64_t r) {
  std::vector<float> v = t.to_vector<float>();
  int64_t w = t.numel() / t.size(0);
  return {v.begin() + r * w, v.begin() + (r + 1) * w};
}

// Row `r` of every group and moment of (g, adam) equals row `src` of the originals.
void expect_carried(const Gaussians& g, Adam6& adam, int64_t r, const Gaussians& g0, Adam6& adam0, int64_t src) {
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    EXPECT_EQ(row(g.group(i), r), row(g0.group(i), src)) << Gaussians::group_name(i) << " row " << r;
    EXPECT_EQ(row(adam[i].exp_avg, r), row(adam0[i].exp_avg, src)) << Gaussians::group_name(i) << " row " << r;
    EXPECT_EQ(row(adam[i].exp_avg_sq, r), row(adam0[i].exp_avg_sq, src)) << Gaussians::group_name(i);
  }
}

void expect_zero_moments(Adam6& adam, int64_t r) {
  for (int i = 0; i < Gaussians::kGroups; ++i)
    for (const Tensor* m : {&adam[i].exp_avg, &adam[i].exp_avg_sq})
      for (float x : row(*m, r)) EXPECT_EQ(x, 0.0f) << Gaussians::group_name(i) << " row " << r;
}

void expect_in_sync(const Gaussians& g, Adam6& adam) {
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    EXPECT_EQ(g.group(i).size(0), g.size()) << Gaussians::group_name(i);
    EXPECT_EQ(adam[i].exp_avg.shape(), g.group(i).shape());
    EXPECT_EQ(adam[i].exp_avg_sq.shape(), g.group(i).shape());
    EXPECT_EQ(adam[i].step, 7);
  }
}

Gaussians copy_of(const Gaussians& g, Adam6& adam, Adam6& adam_copy) {
  for (int i = 0; i < Gaussians::kGroups; ++i)
    adam_copy[i] = {adam[i].exp_avg.clone(), adam[i].exp_avg_sq.clone(), adam[i].step};
  return g.to(Device::cpu());
}

TEST(Strategy, DuplicateAppendsCopiesWithZeroMoments) {
  std::mt19937 rng(1);
  Adam6 adam, adam0;
  Gaussians g = make_model(6, rng, adam);
  Gaussians g0 = copy_of(g, adam, adam0);
  DefaultStrategy s({}, 1.0f, 0);
  s.duplicate(g, adam, {4, 1});
  ASSERT_EQ(g.size(), 8);
  expect_in_sync(g, adam);
  for (int64_t r = 0; r < 6; ++r) expect_carried(g, adam, r, g0, adam0, r);
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    EXPECT_EQ(row(g.group(i), 6), row(g0.group(i), 4));
    EXPECT_EQ(row(g.group(i), 7), row(g0.group(i), 1));
  }
  expect_zero_moments(adam, 6);
  expect_zero_moments(adam, 7);
  EXPECT_THROW(s.duplicate(g, adam, {8}), Error);
}

TEST(Strategy, SplitReplacesParentsByTwoChildren) {
  std::mt19937 rng(2);
  Adam6 adam, adam0;
  Gaussians g = make_model(5, rng, adam);
  Gaussians g0 = copy_of(g, adam, adam0);
  DefaultStrategy s({}, 1.0f, 42);
  s.split(g, adam, {3, 1});  // order of ids does not matter: gsplat selects by mask
  ASSERT_EQ(g.size(), 7);
  expect_in_sync(g, adam);
  const int64_t rest[] = {0, 2, 4}, sel[] = {1, 3};
  for (int r = 0; r < 3; ++r) expect_carried(g, adam, r, g0, adam0, rest[r]);
  for (int b = 0; b < 2; ++b) {
    for (int k = 0; k < 2; ++k) {
      int64_t r = 3 + b * 2 + k, p = sel[k];
      expect_zero_moments(adam, r);
      EXPECT_EQ(row(g.quats, r), row(g0.quats, p));
      EXPECT_EQ(row(g.opacities, r), row(g0.opacities, p));
      EXPECT_EQ(row(g.sh0, r), row(g0.sh0, p));
      EXPECT_EQ(row(g.shN, r), row(g0.shN, p));
      std::vector<float> sc = row(g.scales, r), sp = row(g0.scales, p);
      for (int j = 0; j < 3; ++j) EXPECT_NEAR(sc[j], sp[j] - std::log(1.6f), 1e-5);
      std::vector<float> m = row(g.means, r), mp = row(g0.means, p);
      for (int j = 0; j < 3; ++j) EXPECT_LT(std::abs(m[j] - mp[j]), 6.0f * std::exp(-1.0f));
    }
  }
}

TEST(Strategy, SplitSamplesFollowTheParentCovariance) {
  // Children offsets mapped back through R^T and 1/exp(s) must be standard normal samples.
  std::mt19937 rng(3);
  Adam6 adam;
  const int64_t n = 3000;
  Gaussians g = make_model(n, rng, adam);
  Gaussians g0 = g.to(Device::cpu());
  std::vector<int32_t> all(n);
  for (int64_t i = 0; i < n; ++i) all[i] = static_cast<int32_t>(i);
  DefaultStrategy s({}, 1.0f, 7);
  s.split(g, adam, all);
  ASSERT_EQ(g.size(), 2 * n);
  auto m = g.means.to_vector<float>(), m0 = g0.means.to_vector<float>(), s0 = g0.scales.to_vector<float>(),
       q0 = g0.quats.to_vector<float>();
  double sum = 0, sum2 = 0, cross = 0;
  for (int64_t r = 0; r < 2 * n; ++r) {
    int64_t k = r % n;
    double q[4], qn = 0;
    for (int j = 0; j < 4; ++j) qn += double(q0[4 * k + j]) * q0[4 * k + j];
    for (int j = 0; j < 4; ++j) q[j] = q0[4 * k + j] / std::sqrt(qn);
    double w = q[0], x = q[1], y = q[2], z = q[3];
    double R[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
                   2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                   2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)};
    double d[3], e[3];
    for (int i = 0; i < 3; ++i) d[i] = double(m[3 * r + i]) - m0[3 * k + i];
    for (int j = 0; j < 3; ++j) e[j] = (R[j] * d[0] + R[3 + j] * d[1] + R[6 + j] * d[2]) / std::exp(double(s0[3 * k + j]));
    for (int j = 0; j < 3; ++j) sum += e[j], sum2 += e[j] * e[j];
    cross += e[0] * e[1];
  }
  const double cnt = 2.0 * n * 3;
  EXPECT_NEAR(sum / cnt, 0.0, 0.03);
  EXPECT_NEAR(sum2 / cnt, 1.0, 0.05);
  EXPECT_NEAR(cross / (2.0 * n), 0.0, 0.05);
}

TEST(Strategy, PruneKeepsTheRest) {
  std::mt19937 rng(4);
  Adam6 adam, adam0;
  Gaussians g = make_model(5, rng, adam);
  Gaussians g0 = copy_of(g, adam, adam0);
  DefaultStrategy s({}, 1.0f, 0);
  s.prune(g, adam, {1, 0, 0, 1, 0});
  ASSERT_EQ(g.size(), 3);
  expect_in_sync(g, adam);
  const int64_t kept[] = {1, 2, 4};
  for (int r = 0; r < 3; ++r) expect_carried(g, adam, r, g0, adam0, kept[r]);
  EXPECT_THROW(s.prune(g, adam, {1, 0}), Error);
}

TEST(Strategy, ResetOpacityClampsAndZeroesOnlyOpacityMoments) {
  std::mt19937 rng(5);
  Adam6 adam, adam0;
  Gaussians g = make_model(4, rng, adam);
  g.opacities = Tensor::from_vector<float>({-6.0f, -5.0f, 0.0f, 3.0f}, {4});
  Gaussians g0 = copy_of(g, adam, adam0);
  DefaultStrategy s({}, 1.0f, 0);
  s.reset_opacity(g, adam, 0.01f);
  const float cap = std::log(0.01f / 0.99f);  // about -4.595
  EXPECT_EQ(g.opacities.to_vector<float>(), (std::vector<float>{-6.0f, -5.0f, cap, cap}));
  for (float x : adam[3].exp_avg.to_vector<float>()) EXPECT_EQ(x, 0.0f);
  for (float x : adam[3].exp_avg_sq.to_vector<float>()) EXPECT_EQ(x, 0.0f);
  EXPECT_EQ(adam[3].step, 7);
  EXPECT_EQ(adam[0].exp_avg.to_vector<float>(), adam0[0].exp_avg.to_vector<float>());
  EXPECT_EQ(g.means.to_vector<float>(), g0.means.to_vector<float>());
}

TEST(Strategy, GradAccumulationHandExample) {
  DefaultStrategy s({}, 1.0f, 0);
  Tensor v = Tensor::from_vector<float>({0.1f, 0.2f, 5.0f, 5.0f, -0.3f, 0.4f, 1.0f, 1.0f}, {4, 2});
  Tensor radii = Tensor::from_vector<int32_t>({1, 1, 0, 2, 3, 4, 5, 0}, {4, 2});
  s.step_post_backward_accumulate(v, radii, 100, 50);  // scale x by 50, y by 25
  s.step_post_backward_accumulate(v, radii, 100, 50);
  auto g2 = s.state().grad2d.to_vector<float>(), c = s.state().count.to_vector<float>();
  EXPECT_NEAR(g2[0], 2 * std::sqrt(50.0), 1e-5);        // |(5, 5)|
  EXPECT_EQ(g2[1], 0.0f);  // radii (0, 2): not visible
  EXPECT_NEAR(g2[2], 2 * std::sqrt(15.0 * 15 + 100), 1e-4);  // |(-15, 10)|
  EXPECT_EQ(g2[3], 0.0f);
  EXPECT_EQ(c, (std::vector<float>{2, 0, 2, 0}));
  s.step_post_backward_accumulate(15000, v, radii, 100, 50);  // past refine_stop_iter: skipped
  EXPECT_EQ(s.state().count.to_vector<float>(), (std::vector<float>{2, 0, 2, 0}));
  EXPECT_THROW(s.step_post_backward_accumulate(v, Tensor::zeros({3, 2}, DType::I32), 100, 50), Error);
}

// Every Gaussian visible with a large gradient each step; all small and opaque, so every refine duplicates all.
void accumulate_high(DefaultStrategy& s, const Gaussians& g) {
  const int64_t n = g.size();
  s.step_post_backward_accumulate(Tensor::full({n, 2}, 1.0f), Tensor::from_vector(std::vector<int32_t>(2 * n, 3), {n, 2}),
                                  64, 64);
}

Gaussians small_opaque(int64_t n, Adam6& adam) {
  Gaussians g;
  g.means = Tensor::zeros({n, 3});
  g.scales = Tensor::full({n, 3}, std::log(0.001f));
  std::vector<float> q(static_cast<size_t>(4 * n), 0.0f);
  for (int64_t i = 0; i < n; ++i) q[4 * i] = 1.0f;
  g.quats = Tensor::from_vector(q, {n, 4});
  g.opacities = Tensor::full({n}, 2.0f);
  g.sh0 = Tensor::zeros({n, 3});
  g.shN = Tensor::zeros({n, 0, 3});
  for (int i = 0; i < Gaussians::kGroups; ++i) adam[i] = adam_init(g.group(i));
  return g;
}

TEST(Strategy, RefineRespectsStartStopEvery) {
  StrategyConfig cfg;
  cfg.refine_start_iter = 5;
  cfg.refine_every = 3;
  cfg.refine_stop_iter = 20;
  cfg.reset_every = 1000;
  DefaultStrategy s(cfg, 1.0f, 0);
  Adam6 adam;
  Gaussians g = small_opaque(2, adam);
  std::vector<int> refined;
  for (int step = 0; step < 26; ++step) {
    accumulate_high(s, g);
    int64_t before = g.size();
    RefineStats st = s.step_post_optimizer(step, g, adam);
    if (st.duplicated) {
      refined.push_back(step);
      EXPECT_EQ(st.duplicated, before);
      EXPECT_EQ(g.size(), 2 * before);
      EXPECT_EQ(s.state().grad2d.to_vector<float>(), std::vector<float>(g.size(), 0.0f));  // stats reset
    }
    EXPECT_EQ(st.split, 0);
    EXPECT_EQ(st.pruned, 0);
    EXPECT_FALSE(st.reset);
  }
  EXPECT_EQ(refined, (std::vector<int>{6, 9, 12, 15, 18}));
  EXPECT_EQ(g.size(), 2 << 5);
}

TEST(Strategy, PauseRefineAfterReset) {
  StrategyConfig cfg;
  cfg.refine_start_iter = 0;
  cfg.refine_every = 2;
  cfg.reset_every = 10;
  cfg.pause_refine_after_reset = 5;
  DefaultStrategy s(cfg, 1.0f, 0);
  Adam6 adam;
  Gaussians g = small_opaque(1, adam);
  std::vector<int> refined;
  for (int step = 0; step < 12; ++step) {
    accumulate_high(s, g);
    if (s.step_post_optimizer(step, g, adam).duplicated) refined.push_back(step);
  }
  EXPECT_EQ(refined, (std::vector<int>{6, 8}));  // 0, 2, 4, 10 fall in the pause; opacity reset at 10 gates nothing else
}

TEST(Strategy, OpacityResetGate) {
  StrategyConfig cfg;
  cfg.refine_start_iter = 1000;  // no refine
  cfg.reset_every = 10;
  cfg.refine_stop_iter = 25;
  DefaultStrategy s(cfg, 1.0f, 0);
  Adam6 adam;
  Gaussians g = small_opaque(3, adam);
  std::vector<int> resets;
  for (int step = 0; step < 40; ++step)
    if (s.step_post_optimizer(step, g, adam).reset) resets.push_back(step);
  EXPECT_EQ(resets, (std::vector<int>{10, 20}));  // not at 0, none once past refine_stop_iter
  for (float o : g.opacities.to_vector<float>()) EXPECT_NEAR(o, std::log(0.01f / 0.99f), 1e-6);
}

TEST(Strategy, PruneTooBigOnlyAfterFirstReset) {
  StrategyConfig cfg;
  cfg.refine_start_iter = 0;
  cfg.refine_every = 5;
  cfg.reset_every = 10;
  for (int step : {5, 15}) {
    DefaultStrategy s(cfg, 2.0f, 0);
    Adam6 adam;
    Gaussians g = small_opaque(3, adam);
    // Row 0: max scale 0.5 > 0.1 * scene_scale 2; row 1: transparent (sigmoid(-8) < 0.005); row 2: fine.
    g.scales = Tensor::from_vector<float>({-7, std::log(0.5f), -7, -7, -7, -7, -7, -7, -7}, {3, 3});
    g.opacities = Tensor::from_vector<float>({2, -8, 2}, {3});
    RefineStats st = s.step_post_optimizer(step, g, adam);
    EXPECT_EQ(st.pruned, step > 10 ? 2 : 1) << "step " << step;
    EXPECT_EQ(g.opacities.to_vector<float>().back(), 2.0f);
  }
}

TEST(Strategy, GrowDuplicatesThenSplitsThenPrunes) {
  StrategyConfig cfg;
  cfg.refine_start_iter = 0;
  cfg.refine_every = 1;
  DefaultStrategy s(cfg, 1.0f, 9);
  Adam6 adam, adam0;
  Gaussians g = small_opaque(4, adam);
  // 0: high grad, small -> duplicate; 1: high grad, large (0.05 > 0.01) -> split; 2: low grad; 3: transparent.
  g.scales = Tensor::from_vector<float>({-7, -7, -7, std::log(0.05f), -7, -7, -7, -7, -7, -7, -7, -7}, {4, 3});
  g.opacities = Tensor::from_vector<float>({1, 2, 3, -9}, {4});
  g.sh0 = Tensor::from_vector<float>({0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}, {4, 3});
  Gaussians g0 = copy_of(g, adam, adam0);
  Tensor v = Tensor::from_vector<float>({1, 0, 1, 0, 0, 0, 0, 0}, {4, 2});
  s.step_post_backward_accumulate(v, Tensor::from_vector(std::vector<int32_t>(8, 2), {4, 2}), 10, 10);
  RefineStats st = s.step_post_optimizer(1, g, adam);
  EXPECT_EQ(st.duplicated, 1);
  EXPECT_EQ(st.split, 1);
  EXPECT_EQ(st.pruned, 1);
  // After grow: [0, 2, 3, dup(0)] + [child(1), child(1)]; prune removes 3.
  ASSERT_EQ(g.size(), 5);
  EXPECT_EQ(g.sh0.to_vector<float>(), (std::vector<float>{0, 0, 0, 2, 2, 2, 0, 0, 0, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(g.opacities.to_vector<float>(), (std::vector<float>{1, 3, 1, 2, 2}));
  EXPECT_EQ(s.state().count.to_vector<float>(), std::vector<float>(5, 0.0f));
  EXPECT_NE(row(g.means, 3), row(g.means, 4));  // two independent samples
}

// --max-gaussians: of six duplicate candidates only the two with the highest mean gradient grow (cap 8).
TEST(Strategy, MaxGaussiansKeepsTheHighestGradientCandidates) {
  StrategyConfig cfg;
  cfg.refine_start_iter = 0;
  cfg.refine_every = 1;
  cfg.max_gaussians = 8;
  DefaultStrategy s(cfg, 1.0f, 9);
  Adam6 adam;
  Gaussians g = small_opaque(6, adam);
  std::vector<float> sh0;
  for (int i = 0; i < 6; ++i) sh0.insert(sh0.end(), 3, static_cast<float>(i));
  g.sh0 = Tensor::from_vector<float>(sh0, {6, 3});
  // Mean gradients 0.3, 0.6, 0.1, 0.5, 0.2, 0.4 (all above grow_grad2d): rows 1 and 3 are the top two.
  Tensor v = Tensor::from_vector<float>({0.3f, 0, 0.6f, 0, 0.1f, 0, 0.5f, 0, 0.2f, 0, 0.4f, 0}, {6, 2});
  s.step_post_backward_accumulate(v, Tensor::from_vector(std::vector<int32_t>(12, 2), {6, 2}), 2, 2);
  RefineStats st = s.step_post_optimizer(1, g, adam);
  EXPECT_EQ(st.duplicated, 2);
  EXPECT_EQ(st.pruned, 0);
  ASSERT_EQ(g.size(), 8);
  EXPECT_EQ(row(g.sh0, 6), std::vector<float>(3, 1.0f));
  EXPECT_EQ(row(g.sh0, 7), std::vector<float>(3, 3.0f));
  // At the cap nothing grows any more.
  s.step_post_backward_accumulate(Tensor::full({8, 2}, 1.0f),
                                  Tensor::from_vector(std::vector<int32_t>(16, 2), {8, 2}), 2, 2);
  st = s.step_post_optimizer(2, g, adam);
  EXPECT_EQ(st.duplicated + st.split, 0);
  EXPECT_EQ(g.size(), 8);
}

TEST(Strategy, RefineFlagsMatchTheRules) {
  DefaultStrategy s({}, 1.0f, 0);
  Adam6 adam;
  Gaussians g = small_opaque(2, adam);
  g.scales = Tensor::from_vector<float>({std::log(0.01f), -9, -9, std::log(0.2f), -9, -9}, {2, 3});
  g.opacities = Tensor::from_vector<float>({-6, 0}, {2});
  std::vector<uint8_t> f = s.refine_flags(g).to_vector<uint8_t>();
  EXPECT_EQ(f[0], 2 | 4);  // small (<= 0.01 inclusive), transparent, no gradient statistics
  EXPECT_EQ(f[1], 8);      // 0.2 > 0.1: too big
}

}  // namespace
}  // namespace vg
