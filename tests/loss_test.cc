// Training loss (L1 + fused-ssim "valid" SSIM): values against brute-force window sums and a
// closed form, gradients against central finite differences of the double reference.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/cuda_memory.h"
#include "metrics/loss.h"
#include "test_util.h"

namespace vg::detail {
// Defined in src/metrics/loss_cpu.cc: scalars = {loss, l1, ssim}.
void photometric_loss_reference(const double* render, const double* gt, int H, int W, double lambda,
                                double* v_render, double* scalars);
}  // namespace vg::detail

namespace vg {
namespace {

std::vector<double> window_1d() {
  std::vector<double> w(11);
  double sum = 0;
  for (int i = 0; i < 11; ++i) sum += w[i] = std::exp(-(i - 5) * (i - 5) / 4.5);
  for (double& v : w) v /= sum;
  return w;
}

// Mean SSIM over the (H-10) x (W-10) x 3 interior, with explicit 11x11 window sums per pixel.
double brute_force_train_ssim(const std::vector<float>& x, const std::vector<float>& y, int H, int W) {
  const std::vector<double> g = window_1d();
  const double C1 = 1e-4, C2 = 9e-4;
  double sum = 0;
  int count = 0;
  for (int ch = 0; ch < 3; ++ch)
    for (int r = 5; r < H - 5; ++r)
      for (int c = 5; c < W - 5; ++c) {
        double mx = 0, my = 0, exx = 0, eyy = 0, exy = 0;
        for (int i = -5; i <= 5; ++i)
          for (int j = -5; j <= 5; ++j) {
            double w = g[i + 5] * g[j + 5];
            double a = x[((r + i) * W + c + j) * 3 + ch], b = y[((r + i) * W + c + j) * 3 + ch];
            mx += w * a, my += w * b, exx += w * a * a, eyy += w * b * b, exy += w * a * b;
          }
        double sxx = exx - mx * mx, syy = eyy - my * my, sxy = exy - mx * my;
        sum += (2 * mx * my + C1) * (2 * sxy + C2) / ((mx * mx + my * my + C1) * (sxx + syy + C2));
        ++count;
      }
  return sum / count;
}

// gt = clamp(render + noise): a pair with a non-trivial SSIM.
void random_pair(int H, int W, unsigned seed, Tensor& render, Tensor& gt) {
  std::mt19937 rng(seed);
  render = test::uniform({H, W, 3}, 0.f, 1.f, rng);
  Tensor noise = test::normal({H, W, 3}, 0.f, 0.15f, rng);
  gt = render.clone();
  float* g = gt.data<float>();
  const float* n = noise.data<float>();
  for (int64_t i = 0; i < gt.numel(); ++i) g[i] = std::min(1.f, std::max(0.f, g[i] + n[i]));
}

TEST(PhotometricLoss, IdenticalImagesGiveSsimOneAndZeroGradient) {
  std::mt19937 rng(1);
  Tensor a = test::uniform({24, 31, 3}, 0.f, 1.f, rng);
  PhotometricLoss out = photometric_loss(a, a, 0.2f);
  EXPECT_NEAR(out.ssim.item(), 1.0, 1e-6);
  EXPECT_EQ(out.l1.item(), 0.f);
  EXPECT_NEAR(out.loss.item(), 0.0, 1e-6);
  double vmax = 0;
  for (float v : out.v_render.to_vector<float>()) vmax = std::max(vmax, std::abs(static_cast<double>(v)));
  EXPECT_LT(vmax, 1e-9);  // S = 1 is the maximum; the L1 subgradient at equality is 0
}

TEST(PhotometricLoss, SsimMatchesBruteForceWindowSums) {
  for (auto [H, W, seed] : {std::tuple{13, 17, 2u}, std::tuple{23, 29, 3u}, std::tuple{11, 40, 4u}}) {
    Tensor render, gt;
    random_pair(H, W, seed, render, gt);
    PhotometricLoss out = photometric_loss(render, gt, 0.2f);
    double ref = brute_force_train_ssim(render.to_vector<float>(), gt.to_vector<float>(), H, W);
    std::printf("train ssim %dx%d: %.8f (brute force %.8f)\n", H, W, out.ssim.item(), ref);
    EXPECT_NEAR(out.ssim.item(), ref, 1e-6) << H << "x" << W;
    double l1 = 0;
    auto r = render.to_vector<float>(), g = gt.to_vector<float>();
    for (size_t i = 0; i < r.size(); ++i) l1 += std::abs(static_cast<double>(r[i]) - g[i]);
    l1 /= r.size();
    EXPECT_NEAR(out.l1.item(), l1, 1e-6);
    EXPECT_NEAR(out.loss.item(), 0.8 * l1 + 0.2 * (1.0 - ref), 1e-6);
  }
}

TEST(PhotometricLoss, ConstantImagesClosedForm) {
  // Constant p vs q: sigmas vanish, S = (2pq + C1) / (p^2 + q^2 + C1).
  Tensor a = Tensor::full({15, 14, 3}, 0.5f), b = Tensor::full({15, 14, 3}, 0.25f);
  PhotometricLoss out = photometric_loss(a, b, 0.5f);
  double s = (2 * 0.5 * 0.25 + 1e-4) / (0.25 + 0.0625 + 1e-4);
  EXPECT_NEAR(out.ssim.item(), s, 1e-6);
  EXPECT_NEAR(out.l1.item(), 0.25, 1e-7);
  EXPECT_NEAR(out.loss.item(), 0.5 * 0.25 + 0.5 * (1 - s), 1e-6);
}

// Central differences of the double reference on a 13x17x3 pair.
void check_gradient_fd(double lambda) {
  const int H = 13, W = 17, n = H * W * 3;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> x(n), y(n), v(n), vtmp(n);
  for (int i = 0; i < n; ++i) {
    x[i] = u(rng);
    y[i] = i % 37 == 0 ? x[i] : u(rng);  // a few exact ties: the L1 subgradient there is 0
  }
  double s[3];
  detail::photometric_loss_reference(x.data(), y.data(), H, W, lambda, v.data(), s);
  const double h = 1e-6;
  std::vector<double> fd(n);
  for (int i = 0; i < n; ++i) {
    double keep = x[i], sp[3], sm[3];
    x[i] = keep + h;
    detail::photometric_loss_reference(x.data(), y.data(), H, W, lambda, vtmp.data(), sp);
    x[i] = keep - h;
    detail::photometric_loss_reference(x.data(), y.data(), H, W, lambda, vtmp.data(), sm);
    x[i] = keep;
    fd[i] = (sp[0] - sm[0]) / (2 * h);
  }
  double num = 0, den = 0, worst = 0;
  for (int i = 0; i < n; ++i) {
    num += (v[i] - fd[i]) * (v[i] - fd[i]);
    den += fd[i] * fd[i];
    worst = std::max(worst, std::abs(v[i] - fd[i]));
  }
  double rel = std::sqrt(num / den);
  std::printf("lambda %.2f: grad vs central FD rel L2 %.3e, max abs %.3e\n", lambda, rel, worst);
  EXPECT_LT(rel, 1e-6);
}

TEST(PhotometricLoss, L1GradientMatchesFiniteDifferences) { check_gradient_fd(0.0); }
TEST(PhotometricLoss, SsimGradientMatchesFiniteDifferences) { check_gradient_fd(1.0); }
TEST(PhotometricLoss, MixedGradientMatchesFiniteDifferences) { check_gradient_fd(0.2); }

TEST(PhotometricLoss, FloatApiMatchesDoubleReference) {
  Tensor render, gt;
  random_pair(20, 26, 11, render, gt);
  PhotometricLoss out = photometric_loss(render, gt, 0.2f);
  auto r = render.to_vector<float>(), g = gt.to_vector<float>();
  std::vector<double> rd(r.begin(), r.end()), gd(g.begin(), g.end()), v(r.size());
  double s[3];
  detail::photometric_loss_reference(rd.data(), gd.data(), 20, 26, 0.2, v.data(), s);
  EXPECT_NEAR(out.loss.item(), s[0], 1e-7);
  std::vector<float> vf(v.begin(), v.end());
  EXPECT_LT(test::rel_error(out.v_render.to_vector<float>(), vf), 1e-6);
}

TEST(PhotometricLoss, RejectsBadInput) {
  Tensor a = Tensor::zeros({16, 16, 3}), b = Tensor::zeros({16, 17, 3});
  EXPECT_THROW(photometric_loss(a, b, 0.2f), Error);
  EXPECT_THROW(photometric_loss(Tensor::zeros({10, 16, 3}), Tensor::zeros({10, 16, 3}), 0.2f), Error);
  EXPECT_THROW(photometric_loss(Tensor::zeros({16, 16, 4}), Tensor::zeros({16, 16, 4}), 0.2f), Error);
  EXPECT_THROW(photometric_loss(a, a, 1.5f), Error);
  EXPECT_THROW(photometric_loss(Tensor::zeros({16, 16, 3}, DType::I32), a, 0.2f), Error);
}

TEST(PhotometricLoss, CpuTiming400x400) {
  Tensor render, gt;
  random_pair(400, 400, 5, render, gt);
  auto t0 = std::chrono::steady_clock::now();
  PhotometricLoss out = photometric_loss(render, gt, 0.2f);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("CPU photometric_loss 400x400: %.1f ms (loss %.6f, ssim %.6f)\n", ms, out.loss.item(), out.ssim.item());
  EXPECT_TRUE(std::isfinite(out.loss.item()));
}

TEST(PhotometricLoss, CudaMatchesCpuAndTiming) {
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  Tensor render, gt;
  random_pair(1080, 1920, 6, render, gt);
  PhotometricLoss ref = photometric_loss(render, gt, 0.2f);
  Tensor rd = render.to(Device::cuda()), gd = gt.to(Device::cuda());
  PhotometricLoss out = photometric_loss(rd, gd, 0.2f);
  EXPECT_NEAR(out.loss.item(), ref.loss.item(), 1e-5);
  EXPECT_NEAR(out.ssim.item(), ref.ssim.item(), 1e-5);
  EXPECT_LT(test::rel_error(out.v_render.to_vector<float>(), ref.v_render.to_vector<float>()), 1e-4);
  const int iters = 50;
  cuda_synchronize();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) out = photometric_loss(rd, gd, 0.2f);
  cuda_synchronize();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters;
  std::printf("CUDA photometric_loss 1080x1920 (fwd+bwd): %.3f ms\n", ms);
}

}  // namespace
}  // namespace vg
