#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "splat/init.h"

namespace vg {
namespace {

TEST(Init, KnnMeanDistOnGrid) {
  // 6x6x6 grid, spacing 0.25: every point has at least 3 neighbours at exactly 0.25.
  std::vector<float> xyz;
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j)
      for (int k = 0; k < 6; ++k) xyz.insert(xyz.end(), {0.25f * i, 0.25f * j, 0.25f * k});
  auto d = knn_mean_dist(xyz, 3);
  ASSERT_EQ(d.size(), 216u);
  for (float v : d) EXPECT_NEAR(v, 0.25f, 1e-6f);
}

TEST(Init, KnnMatchesBruteForce) {
  std::mt19937_64 rng(3);
  std::vector<float> xyz, rgb;
  random_points(700, 2.0f, rng, xyz, rgb);
  auto d = knn_mean_dist(xyz, 3);
  int n = 700;
  for (int i = 0; i < n; ++i) {
    std::vector<double> d2;
    for (int j = 0; j < n; ++j) {
      if (j == i) continue;
      double s = 0;
      for (int a = 0; a < 3; ++a) s += std::pow(static_cast<double>(xyz[3 * i + a]) - xyz[3 * j + a], 2);
      d2.push_back(s);
    }
    std::partial_sort(d2.begin(), d2.begin() + 3, d2.end());
    double expect = std::sqrt((d2[0] + d2[1] + d2[2]) / 3);
    ASSERT_NEAR(d[i], expect, 1e-5 * expect) << "point " << i;
  }
}

TEST(Init, KnnDuplicatesStayFinite) {
  std::vector<float> xyz(3 * 5, 1.0f);  // 5 identical points
  for (float v : knn_mean_dist(xyz, 3)) EXPECT_FLOAT_EQ(v, std::sqrt(1e-7f));
}

TEST(Init, RandomInitBoundsAndActivations) {
  TrainConfig cfg;
  cfg.init_type = "random";
  cfg.init_num_pts = 2000;
  cfg.init_aabb = 1.3f;
  Dataset data;
  std::mt19937_64 rng(42);
  Gaussians g = init_from_config(cfg, data, 4.0f, rng);
  ASSERT_EQ(g.size(), 2000);
  EXPECT_EQ(g.shN.shape(), (Shape{2000, 15, 3}));
  float lo = 1e9f, hi = -1e9f;
  for (float v : g.means.to_vector<float>()) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_GE(lo, -1.3f);
  EXPECT_LE(hi, 1.3f);
  EXPECT_LT(lo, -1.2f);  // the cube is filled
  EXPECT_GT(hi, 1.2f);
  for (float q : g.quats.to_vector<float>()) ASSERT_TRUE(q >= 0 && q < 1);
  for (float o : g.opacities.to_vector<float>()) ASSERT_NEAR(o, std::log(0.1 / 0.9), 1e-6);
  for (float s : g.sh0.to_vector<float>()) ASSERT_TRUE(s >= -0.5 / 0.28209479 - 1e-4 && s <= 0.5 / 0.28209479 + 1e-4);
  for (float s : g.shN.to_vector<float>()) ASSERT_EQ(s, 0.0f);
  auto sc = g.scales.to_vector<float>();
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(sc[3 * i] == sc[3 * i + 1] && sc[3 * i] == sc[3 * i + 2]);

  // Without init_aabb: +-init_extent * scene_scale.
  cfg.init_aabb = 0;
  cfg.init_extent = 3.0f;
  Gaussians g2 = init_from_config(cfg, data, 0.5f, rng);
  for (float v : g2.means.to_vector<float>()) ASSERT_LE(std::abs(v), 1.5f);
}

TEST(Init, SfmUsesDatasetPointsAndColours) {
  TrainConfig cfg;
  cfg.sh_degree = 1;
  cfg.init_scale = 2.0f;
  Dataset data;
  data.points = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  data.colors = {0.5f, 0.5f, 0.5f, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  std::mt19937_64 rng(1);
  Gaussians g = init_from_config(cfg, data, 1.0f, rng);
  ASSERT_EQ(g.size(), 4);
  EXPECT_EQ(g.means.to_vector<float>(), data.points);
  EXPECT_EQ(g.shN.shape(), (Shape{4, 3, 3}));
  auto sh0 = g.sh0.to_vector<float>();
  EXPECT_NEAR(sh0[0], 0.0f, 1e-6f);
  EXPECT_NEAR(sh0[3], 0.5 / 0.28209479177387814, 1e-5);
  // point 0: neighbours at distance 1,1,1 -> log(2 * 1)
  EXPECT_NEAR(g.scales.to_vector<float>()[0], std::log(2.0f), 1e-6f);

  Dataset empty;
  EXPECT_THROW(init_from_config(cfg, empty, 1.0f, rng), Error);
}

}  // namespace
}  // namespace vg
