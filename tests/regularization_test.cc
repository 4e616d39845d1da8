// The opacity / scale regularisers: the loss against a direct evaluation of gsplat's
// opacity_reg * mean(sigmoid(o)) + scale_reg * mean(exp(s)), and its gradients against central differences.
#include "splat/regularization.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace vg {
namespace {

Gaussians model(int64_t n, std::mt19937& rng) {
  Gaussians g;
  g.means = test::normal({n, 3}, 0.0f, 1.0f, rng);
  g.scales = test::uniform({n, 3}, -3.0f, 0.5f, rng);
  g.quats = test::normal({n, 4}, 0.0f, 1.0f, rng);
  g.opacities = test::uniform({n}, -4.0f, 4.0f, rng);
  g.sh0 = test::normal({n, 3}, 0.0f, 1.0f, rng);
  g.shN = test::normal({n, 3, 3}, 0.0f, 1.0f, rng);
  return g;
}

float loss_of(const Gaussians& g, float wo, float ws) {
  GaussianGrads grads = zeros_like(g);
  return add_opacity_scale_reg(g, grads, wo, ws).item();
}

TEST(Regularization, LossIsTheWeightedMeans) {
  std::mt19937 rng(1);
  const Gaussians g = model(1000, rng);
  double mo = 0, ms = 0;
  for (float x : g.opacities.to_vector<float>()) mo += 1.0 / (1.0 + std::exp(-double(x))) / 1000;
  for (float x : g.scales.to_vector<float>()) ms += std::exp(double(x)) / 3000;
  EXPECT_NEAR(loss_of(g, 0.01f, 0.02f), 0.01 * mo + 0.02 * ms, 1e-6);
  EXPECT_EQ(loss_of(g, 0.0f, 0.0f), 0.0f);
}

TEST(Regularization, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(2);
  const int64_t n = 16;
  const float wo = 0.7f, ws = 1.3f;
  Gaussians g = model(n, rng);
  GaussianGrads grads = zeros_like(g);
  grads.opacities = Tensor::full({n}, 0.25f);  // gradients are added to what is there
  add_opacity_scale_reg(g, grads, wo, ws);
  const std::vector<float> vo = grads.opacities.to_vector<float>(), vs = grads.scales.to_vector<float>();
  const float h = 1e-2f;
  auto central = [&](Tensor& t, int64_t k) {
    float* p = t.data<float>();
    const float x = p[k];
    p[k] = x + h;
    const double up = loss_of(g, wo, ws);
    p[k] = x - h;
    const double down = loss_of(g, wo, ws);
    p[k] = x;
    return (up - down) / (2.0 * h);
  };
  for (int64_t i = 0; i < n; ++i) {
    const double fd = central(g.opacities, i);
    EXPECT_NEAR(vo[i] - 0.25f, fd, 2e-3 * std::abs(fd) + 2e-6) << "opacity " << i;
    for (int j = 0; j < 3; ++j) {
      const double fs = central(g.scales, 3 * i + j);
      EXPECT_NEAR(vs[3 * i + j], fs, 2e-3 * std::abs(fs) + 2e-6) << "scale " << i << "," << j;
    }
  }
  for (float x : grads.means.to_vector<float>()) EXPECT_EQ(x, 0.0f);
}

}  // namespace
}  // namespace vg
