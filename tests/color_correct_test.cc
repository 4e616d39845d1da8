// Colour correction for the cc_* metrics (metrics/color_correct.h, gsplat's color_correct_affine /
// color_correct_quadratic): exact recovery of colour maps of their own form, clipping, bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "metrics/color_correct.h"
#include "metrics/image_metrics.h"

namespace vg {
namespace {

Tensor random_image(int h, int w, unsigned seed, float lo = 0.05f, float hi = 0.95f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t = Tensor::empty({h, w, 3}, DType::F32, Device::cpu());
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(double(a.data<float>()[i]) - b.data<float>()[i]));
  return m;
}

// A render off by a per-channel gain and offset (an exposure / white-balance change) comes back exactly.
TEST(ColorCorrect, AffineUndoesAPerChannelGainAndOffset) {
  const Tensor ref = random_image(40, 30, 1, 0.1f, 0.7f);
  Tensor img = ref.clone();
  const float a[3] = {1.2f, 0.9f, 1.05f}, b[3] = {0.05f, -0.02f, 0.1f};
  for (int64_t i = 0; i < img.numel(); ++i) img.data<float>()[i] = a[i % 3] * ref.data<float>()[i] + b[i % 3];
  EXPECT_LT(psnr(img, ref), 30.0);
  const Tensor cc = color_correct_affine(img, ref);
  EXPECT_LT(max_abs_diff(cc, ref), 2e-6);
  EXPECT_GT(psnr(cc, ref), 90.0);
}

// A render whose colours are a quadratic function of the truth's, with a channel mix: the quadratic fit maps
// it back (the fit goes from img's expansion to ref, so ref = q(img) is recovered exactly).
TEST(ColorCorrect, QuadraticRecoversAQuadraticColourMap) {
  const Tensor img = random_image(32, 32, 2, 0.1f, 0.9f);
  Tensor ref = img.clone();
  for (int64_t p = 0; p < img.numel() / 3; ++p) {
    const float* x = img.data<float>() + 3 * p;
    float* y = ref.data<float>() + 3 * p;
    y[0] = 0.1f + 0.6f * x[0] + 0.2f * x[0] * x[0] + 0.05f * x[1] * x[2];
    y[1] = 0.05f + 0.5f * x[1] + 0.1f * x[0] + 0.2f * x[1] * x[1];
    y[2] = 0.9f - 0.7f * x[2] + 0.1f * x[0] * x[2];
  }
  const Tensor cc = color_correct_quadratic(img, ref);
  EXPECT_LT(max_abs_diff(cc, ref), 1e-5);
  // affine cannot follow the channel mix: worse, but better than nothing
  EXPECT_LT(psnr(color_correct_affine(img, ref), ref), psnr(cc, ref));
  EXPECT_GT(psnr(color_correct_affine(img, ref), ref), psnr(img, ref));
}

// Saturated pixels are left out of the fit: a gain with clipping still recovers the unclipped map.
TEST(ColorCorrect, QuadraticIgnoresClippedPixels) {
  const Tensor ref = random_image(48, 48, 3, 0.0f, 1.0f);
  Tensor img = ref.clone();
  for (int64_t i = 0; i < img.numel(); ++i) img.data<float>()[i] = std::min(1.0f, 1.4f * ref.data<float>()[i]);
  const Tensor cc = color_correct_quadratic(img, ref);
  double m = 0;  // where img is unclipped, ref = img / 1.4
  for (int64_t i = 0; i < img.numel(); ++i)
    if (img.data<float>()[i] < 0.99f) m = std::max(m, std::abs(double(cc.data<float>()[i]) - ref.data<float>()[i]));
  EXPECT_LT(m, 1e-4);
  EXPECT_GT(psnr(cc, ref), psnr(img, ref) + 3.0);
}

TEST(ColorCorrect, ConstantImagesAndBadInput) {
  Tensor flat = Tensor::empty({4, 4, 3}, DType::F32, Device::cpu());
  for (int64_t i = 0; i < flat.numel(); ++i) flat.data<float>()[i] = 0.5f;
  const Tensor ref = random_image(4, 4, 4);
  for (float v : color_correct_affine(flat, ref).to_vector<float>()) EXPECT_TRUE(std::isfinite(v));
  for (float v : color_correct_quadratic(flat, ref).to_vector<float>()) EXPECT_TRUE(std::isfinite(v));
  EXPECT_THROW(color_correct_affine(random_image(4, 5, 1), ref), Error);
  EXPECT_THROW(color_correct(ref, ref, "gamma"), Error);
}

}  // namespace
}  // namespace vg
