// CPU reference of the training loss (1 - lambda) * L1 + lambda * (1 - SSIM), in double.
//
// Training SSIM as gsplat's simple_trainer calls it: fused_ssim(render, gt, padding="valid"), i.e.
// the SSIM map of Wang et al. 2004 (11x11 Gaussian, sigma 1.5, C1 = 0.01^2, C2 = 0.03^2) computed
// with zero-padded ("same") filtering, then cropped by 5 px on each side and averaged over the
// (H-10) x (W-10) x 3 interior. In that interior no window touches the padding.
//
// Backward (per channel): with mu_x = G*x, s_xx = G*x^2 - mu_x^2, s_xy = G*(xy) - mu_x mu_y and the
// map S(mu_x, s_xx, s_xy), the chain rule through the (symmetric) filter gives
//   dL/dx = G*(dL/dmu_x) + 2 x G*(dL/ds_xx) + y G*(dL/ds_xy),
// where dL/dmu_x is the total derivative at fixed E[x^2], E[xy]:
//   dS/dmu_x - 2 mu_x dS/ds_xx - mu_y dS/ds_xy.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "core/parallel.h"

namespace vg::detail {
namespace {

// The normalised 11-tap Gaussian window, sigma 1.5.
std::array<double, 11> ssim_window_1d() {
  std::array<double, 11> w{};
  double sum = 0;
  for (int i = 0; i < 11; ++i) {
    double d = i - 5;
    w[i] = std::exp(-d * d / (2.0 * 1.5 * 1.5));
    sum += w[i];
  }
  for (double& v : w) v /= sum;
  return w;
}

constexpr double kC1 = 0.01 * 0.01;
constexpr double kC2 = 0.03 * 0.03;
constexpr int kRadius = 5;

using Plane = std::vector<double>;

// Rows per parallel_for chunk: ~16k pixels, so small images stay on one thread.
int64_t row_grain(int W) { return std::max<int64_t>(1, 16384 / std::max(W, 1)); }

// out = G * in with zero padding ("same" size), separable: rows then columns.
Plane blur_zero_padded(const Plane& in, int H, int W) {
  static const std::array<double, 11> w = ssim_window_1d();
  Plane tmp(in.size()), out(in.size());
  parallel_for(H, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      for (int c = 0; c < W; ++c) {
        double s = 0;
        for (int k = -kRadius; k <= kRadius; ++k) {
          int cc = c + k;
          if (cc >= 0 && cc < W) s += w[k + kRadius] * in[r * W + cc];
        }
        tmp[r * W + c] = s;
      }
  }, row_grain(W));
  parallel_for(H, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      for (int c = 0; c < W; ++c) {
        double s = 0;
        for (int k = -kRadius; k <= kRadius; ++k) {
          int64_t rr = r + k;
          if (rr >= 0 && rr < H) s += w[k + kRadius] * tmp[rr * W + c];
        }
        out[r * W + c] = s;
      }
  }, row_grain(W));
  return out;
}

// Sum of the SSIM map over the interior of one channel; fills the map partials (times `scale`,
// zero outside the interior) for the backward pass.
double ssim_channel(const Plane& x, const Plane& y, int H, int W, double scale, Plane& d_mu, Plane& d_sxx,
                    Plane& d_sxy) {
  size_t n = x.size();
  Plane xx(n), yy(n), xy(n);
  for (size_t i = 0; i < n; ++i) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  Plane mx = blur_zero_padded(x, H, W), my = blur_zero_padded(y, H, W);
  Plane exx = blur_zero_padded(xx, H, W), eyy = blur_zero_padded(yy, H, W), exy = blur_zero_padded(xy, H, W);
  d_mu.assign(n, 0.0);
  d_sxx.assign(n, 0.0);
  d_sxy.assign(n, 0.0);
  double sum = 0;
  for (int r = kRadius; r < H - kRadius; ++r)
    for (int c = kRadius; c < W - kRadius; ++c) {
      size_t i = static_cast<size_t>(r) * W + c;
      double mux = mx[i], muy = my[i];
      double sxx = exx[i] - mux * mux, syy = eyy[i] - muy * muy, sxy = exy[i] - mux * muy;
      double a1 = 2 * mux * muy + kC1, a2 = 2 * sxy + kC2;
      double b1 = mux * mux + muy * muy + kC1, b2 = sxx + syy + kC2;
      double s = a1 * a2 / (b1 * b2);
      sum += s;
      double ds_dmu = a2 / b2 * 2.0 * (muy * b1 - mux * a1) / (b1 * b1);
      double ds_dsxx = -s / b2;
      double ds_dsxy = 2.0 * a1 / (b1 * b2);
      d_mu[i] = scale * (ds_dmu - 2.0 * mux * ds_dsxx - muy * ds_dsxy);
      d_sxx[i] = scale * ds_dsxx;
      d_sxy[i] = scale * ds_dsxy;
    }
  return sum;
}

}  // namespace

// render, gt, v_render: [H,W,3] HWC; scalars = {loss, l1, ssim}. H, W >= 11 (checked by the caller).
void photometric_loss_reference(const double* render, const double* gt, int H, int W, double lambda,
                                double* v_render, double* scalars) {
  const size_t npix = static_cast<size_t>(H) * W;
  const double n_all = 3.0 * static_cast<double>(npix);
  const double n_valid = 3.0 * (H - 2 * kRadius) * static_cast<double>(W - 2 * kRadius);

  double l1_sum = 0;
  for (size_t i = 0; i < 3 * npix; ++i) {
    double d = render[i] - gt[i];
    l1_sum += std::abs(d);
    v_render[i] = (1.0 - lambda) * ((d > 0) - (d < 0)) / n_all;  // sign, 0 at equality (torch)
  }

  // d loss / d S(p) = -lambda / n_valid on the interior.
  const double scale = -lambda / n_valid;
  double ssim_sum = 0;
  Plane x(npix), y(npix), d_mu, d_sxx, d_sxy;
  for (int ch = 0; ch < 3; ++ch) {
    for (size_t i = 0; i < npix; ++i) {
      x[i] = render[3 * i + ch];
      y[i] = gt[3 * i + ch];
    }
    ssim_sum += ssim_channel(x, y, H, W, scale, d_mu, d_sxx, d_sxy);
    Plane g_mu = blur_zero_padded(d_mu, H, W);  // correlation = convolution: G is symmetric
    Plane g_sxx = blur_zero_padded(d_sxx, H, W);
    Plane g_sxy = blur_zero_padded(d_sxy, H, W);
    for (size_t i = 0; i < npix; ++i) v_render[3 * i + ch] += g_mu[i] + 2.0 * x[i] * g_sxx[i] + y[i] * g_sxy[i];
  }

  const double l1 = l1_sum / n_all, ssim = ssim_sum / n_valid;
  scalars[0] = (1.0 - lambda) * l1 + lambda * (1.0 - ssim);
  scalars[1] = l1;
  scalars[2] = ssim;
}

}  // namespace vg::detail
