// Evaluation PSNR and SSIM with torchmetrics' definitions (data_range 1), in double on the host.
//
// SSIM follows torchmetrics.functional.image.ssim (>= 1.5, after Lightning-AI/torchmetrics#2721):
// 11x11 Gaussian (sigma 1.5, size int(3.5 sigma + 0.5) * 2 + 1), K1 0.01, K2 0.03, images reflect-padded
// by 5 px ("reflect": the edge pixel is not repeated) and filtered without padding, so the map is
// H x W; variances clamped at 0; mean over channels and all pixels (no border crop).
#include "metrics/image_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.h"

namespace vg {
namespace {

constexpr int kR = 5;
constexpr double kC1 = 0.01 * 0.01;
constexpr double kC2 = 0.03 * 0.03;

using Plane = std::vector<double>;

// Rows per parallel_for chunk: ~16k pixels, so small images stay on one thread.
int64_t row_grain(int W) { return std::max<int64_t>(1, 16384 / std::max(W, 1)); }

std::array<double, 2 * kR + 1> gaussian_window() {
  std::array<double, 2 * kR + 1> w{};
  double sum = 0;
  for (int i = 0; i <= 2 * kR; ++i) {
    double d = i - kR;
    w[i] = std::exp(-0.5 * (d / 1.5) * (d / 1.5));
    sum += w[i];
  }
  for (double& v : w) v /= sum;
  return w;
}

// torch "reflect" padding index: -1 -> 1, n -> n - 2.
int reflect(int i, int n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

// G * in over the reflect-padded plane, H x W out; separable.
Plane blur_reflect(const Plane& in, int H, int W) {
  static const auto w = gaussian_window();
  Plane tmp(in.size()), out(in.size());
  parallel_for(H, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      for (int c = 0; c < W; ++c) {
        double s = 0;
        for (int k = -kR; k <= kR; ++k) s += w[k + kR] * in[r * W + reflect(c + k, W)];
        tmp[r * W + c] = s;
      }
  }, row_grain(W));
  parallel_for(H, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      for (int c = 0; c < W; ++c) {
        double s = 0;
        for (int k = -kR; k <= kR; ++k) {
          int64_t rr = reflect(static_cast<int>(r) + k, H);
          s += w[k + kR] * tmp[rr * W + c];
        }
        out[r * W + c] = s;
      }
  }, row_grain(W));
  return out;
}

// Host float copies of two [H,W,3] images after checking them.
void host_pair(const char* what, const Tensor& a, const Tensor& b, std::vector<float>& ha, std::vector<float>& hb) {
  VG_CHECK(a.defined() && b.defined(), what, ": undefined input tensor");
  a.expect(what, {-1, -1, 3});
  b.expect(what, {-1, -1, 3});
  VG_CHECK(a.shape() == b.shape(), what, ": images ", shape_str(a.shape()), " and ", shape_str(b.shape()),
           " differ in shape");
  VG_CHECK(a.device() == b.device(), what, ": images on ", a.device().str(), " and ", b.device().str());
  VG_CHECK(a.numel() > 0, what, ": empty image");
  ha = a.to_vector<float>();
  hb = b.to_vector<float>();
}

}  // namespace

double psnr(const Tensor& a, const Tensor& b) {
  std::vector<float> ha, hb;
  host_pair("psnr", a, b, ha, hb);
  double se = 0;
  for (size_t i = 0; i < ha.size(); ++i) {
    double d = static_cast<double>(ha[i]) - hb[i];
    se += d * d;
  }
  double mse = se / static_cast<double>(ha.size());
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(1.0 / mse);
}

double ssim(const Tensor& a, const Tensor& b) {
  std::vector<float> ha, hb;
  host_pair("ssim", a, b, ha, hb);
  const int H = static_cast<int>(a.size(0)), W = static_cast<int>(a.size(1));
  VG_CHECK(H > kR && W > kR, "ssim: image ", shape_str(a.shape()), " too small for reflect padding of ", kR, " px");
  const size_t n = static_cast<size_t>(H) * W;
  double total = 0;
  Plane x(n), y(n), xx(n), yy(n), xy(n);
  for (int ch = 0; ch < 3; ++ch) {
    for (size_t i = 0; i < n; ++i) {
      x[i] = ha[3 * i + ch];
      y[i] = hb[3 * i + ch];
      xx[i] = x[i] * x[i];
      yy[i] = y[i] * y[i];
      xy[i] = x[i] * y[i];
    }
    Plane mx = blur_reflect(x, H, W), my = blur_reflect(y, H, W);
    Plane exx = blur_reflect(xx, H, W), eyy = blur_reflect(yy, H, W), exy = blur_reflect(xy, H, W);
    for (size_t i = 0; i < n; ++i) {
      double sxx = std::max(exx[i] - mx[i] * mx[i], 0.0), syy = std::max(eyy[i] - my[i] * my[i], 0.0);
      double sxy = exy[i] - mx[i] * my[i];
      total += (2 * mx[i] * my[i] + kC1) * (2 * sxy + kC2) /
               ((mx[i] * mx[i] + my[i] * my[i] + kC1) * (sxx + syy + kC2));
    }
  }
  return total / (3.0 * static_cast<double>(n));
}

}  // namespace vg
