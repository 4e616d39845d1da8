// Evaluation metrics: PSNR on a known MSE, torchmetrics SSIM against brute-force window sums.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "metrics/image_metrics.h"
#include "test_util.h"

namespace vg {
namespace {

int reflect(int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

// torchmetrics SSIM (data_range 1): per pixel an explicit 11x11 window over the reflect-padded
// image, variances clamped at 0, mean over all H x W x 3.
double brute_force_ssim(const std::vector<float>& x, const std::vector<float>& y, int H, int W) {
  std::vector<double> g(11);
  double gs = 0;
  for (int i = 0; i < 11; ++i) gs += g[i] = std::exp(-0.5 * ((i - 5) / 1.5) * ((i - 5) / 1.5));
  const double C1 = 1e-4, C2 = 9e-4;
  double sum = 0;
  for (int ch = 0; ch < 3; ++ch)
    for (int r = 0; r < H; ++r)
      for (int c = 0; c < W; ++c) {
        double mx = 0, my = 0, exx = 0, eyy = 0, exy = 0;
        for (int i = -5; i <= 5; ++i)
          for (int j = -5; j <= 5; ++j) {
            double w = g[i + 5] * g[j + 5] / (gs * gs);
            size_t k = (static_cast<size_t>(reflect(r + i, H)) * W + reflect(c + j, W)) * 3 + ch;
            double a = x[k], b = y[k];
            mx += w * a, my += w * b, exx += w * a * a, eyy += w * b * b, exy += w * a * b;
          }
        double sxx = std::max(0.0, exx - mx * mx), syy = std::max(0.0, eyy - my * my), sxy = exy - mx * my;
        sum += (2 * mx * my + C1) * (2 * sxy + C2) / ((mx * mx + my * my + C1) * (sxx + syy + C2));
      }
  return sum / (3.0 * H * W);
}

TEST(ImageMetrics, SsimOfIdenticalImagesIsOne) {
  std::mt19937 rng(3);
  Tensor a = test::uniform({21, 18, 3}, 0.f, 1.f, rng);
  EXPECT_NEAR(ssim(a, a), 1.0, 1e-12);
}

TEST(ImageMetrics, SsimMatchesBruteForceWindowSums) {
  for (auto [H, W, seed] : {std::tuple{6, 9, 1u}, std::tuple{17, 23, 2u}, std::tuple{32, 12, 3u}}) {
    std::mt19937 rng(seed);
    Tensor a = test::uniform({H, W, 3}, 0.f, 1.f, rng);
    Tensor noise = test::normal({H, W, 3}, 0.f, 0.1f, rng);
    std::vector<float> x = a.to_vector<float>(), y = x, n = noise.to_vector<float>();
    for (size_t i = 0; i < y.size(); ++i) y[i] = std::min(1.f, std::max(0.f, y[i] + n[i]));
    Tensor b = Tensor::from_vector(y, {H, W, 3});
    double got = ssim(a, b), ref = brute_force_ssim(x, y, H, W);
    std::printf("eval ssim %dx%d: %.10f (brute force %.10f)\n", H, W, got, ref);
    EXPECT_NEAR(got, ref, 1e-12);
  }
}

TEST(ImageMetrics, SsimConstantImagesClosedForm) {
  Tensor a = Tensor::full({12, 13, 3}, 0.5f), b = Tensor::full({12, 13, 3}, 0.25f);
  EXPECT_NEAR(ssim(a, b), (2 * 0.5 * 0.25 + 1e-4) / (0.25 + 0.0625 + 1e-4), 1e-12);
}

TEST(ImageMetrics, PsnrOfKnownMse) {
  // |a - b| = 0.125 everywhere (exact in float): MSE 1/64, PSNR 10 log10(64).
  std::vector<float> a(8 * 9 * 3, 0.5f), b(a.size());
  for (size_t i = 0; i < b.size(); ++i) b[i] = i % 2 ? 0.625f : 0.375f;
  double p = psnr(Tensor::from_vector(a, {8, 9, 3}), Tensor::from_vector(b, {8, 9, 3}));
  EXPECT_NEAR(p, 10.0 * std::log10(64.0), 1e-12);
  Tensor t = Tensor::from_vector(a, {8, 9, 3});
  EXPECT_TRUE(std::isinf(psnr(t, t)));
}

TEST(ImageMetrics, RejectsBadInput) {
  Tensor a = Tensor::zeros({16, 16, 3});
  EXPECT_THROW(psnr(a, Tensor::zeros({16, 15, 3})), Error);
  EXPECT_THROW(ssim(a, Tensor::zeros({16, 16, 1})), Error);
  EXPECT_THROW(ssim(Tensor::zeros({5, 16, 3}), Tensor::zeros({5, 16, 3})), Error);
}

TEST(ImageMetrics, AcceptsCudaTensors) {
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  std::mt19937 rng(9);
  Tensor a = test::uniform({20, 30, 3}, 0.f, 1.f, rng), b = test::uniform({20, 30, 3}, 0.f, 1.f, rng);
  EXPECT_DOUBLE_EQ(ssim(a.to(Device::cuda()), b.to(Device::cuda())), ssim(a, b));
  EXPECT_DOUBLE_EQ(psnr(a.to(Device::cuda()), b.to(Device::cuda())), psnr(a, b));
}

}  // namespace
}  // namespace vg
