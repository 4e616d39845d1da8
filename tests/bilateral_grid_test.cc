// The bilateral grid (splat/bilateral_grid.h, gsplat lib_bilagrid): identity grids leave a render unchanged;
// analytic cases (a constant affine map; grids linear in x and in the luma, which trilinear sampling reproduces
// exactly: gsplat's pixel-centre coordinates, align_corners=True and border padding); the slice's VJP (grid and
// rgb, including the path through the luma guidance) and the total-variation loss's gradient against central
// finite differences in double; the F32 ops against the double reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "splat/bilateral_grid.h"
#include "splat/bilateral_grid_kernels.h"
#include "test_util.h"

namespace vg {
namespace {

using detail::BilagridDims;

BilagridDims dims(int x, int y, int w) {
  BilagridDims d;
  d.gw = x, d.gh = y, d.gl = w;
  return d;
}

// Identity grids plus normal(0, sigma) noise, in double.
std::vector<double> noisy_grids(int64_t n, const BilagridDims& d, double sigma, std::mt19937& rng) {
  const std::vector<float> id =
      bilateral_grid_identity(n, {d.gw, d.gh, d.gl}).to_vector<float>();
  std::normal_distribution<double> g(0.0, sigma);
  std::vector<double> out(id.begin(), id.end());
  for (double& v : out) v += g(rng);
  return out;
}

std::vector<double> uniform_vec(size_t n, double lo, double hi, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = u(rng);
  return v;
}

Tensor to_tensor(const std::vector<double>& v, const Shape& s) {
  return Tensor::from_vector(std::vector<float>(v.begin(), v.end()), s);
}

// sum(v_out . slice(grid, rgb)) for one image in double.
double slice_dot(const double* grid, const BilagridDims& d, int W, int H, const std::vector<double>& rgb,
                 const std::vector<double>& v_out) {
  double s = 0;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const int64_t p = static_cast<int64_t>(y) * W + x;
      double o[3];
      detail::bg_slice_pixel<double>(grid, d, x, y, W, H, rgb.data() + 3 * p, o);
      for (int c = 0; c < 3; ++c) s += v_out[3 * p + c] * o[c];
    }
  return s;
}

// The slice's VJP in double: d/d grid (one image) and d/d rgb.
void slice_vjp(const double* grid, const BilagridDims& d, int W, int H, const std::vector<double>& rgb,
               const std::vector<double>& v_out, std::vector<double>& v_grid, std::vector<double>& v_rgb) {
  v_grid.assign(static_cast<size_t>(d.size()), 0.0);
  v_rgb.assign(rgb.size(), 0.0);
  const int64_t plane = d.cells();
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const int64_t p = static_cast<int64_t>(y) * W + x;
      detail::bg_slice_pixel_vjp<double>(grid, d, x, y, W, H, rgb.data() + 3 * p, v_out.data() + 3 * p,
                                         v_rgb.data() + 3 * p,
                                         [&](const detail::BgCell& cell, double w, const double* vA) {
                                           for (int c = 0; c < 12; ++c) v_grid[c * plane + cell.off] += w * vA[c];
                                         });
    }
}

// lib_bilagrid total_variation_loss written out from its definition (x: [N, 12, L, H, W]).
double tv_direct(const std::vector<double>& x, int64_t n, const BilagridDims& d) {
  const int ext[3] = {d.gl, d.gh, d.gw};
  double tv = 0;
  for (int a = 0; a < 3; ++a) {
    double sum = 0;
    for (int64_t i = 0; i < n * 12; ++i)
      for (int z = 0; z < d.gl; ++z)
        for (int y = 0; y < d.gh; ++y)
          for (int xx = 0; xx < d.gw; ++xx) {
            int q[3] = {z, y, xx};
            if (q[a] + 1 >= ext[a]) continue;
            const int64_t e = ((i * d.gl + z) * d.gh + y) * d.gw + xx;
            int64_t e1 = e + (a == 0 ? static_cast<int64_t>(d.gh) * d.gw : a == 1 ? d.gw : 1);
            sum += (x[e1] - x[e]) * (x[e1] - x[e]);
          }
    const double count = std::max<double>(1.0, 12.0 * d.cells() / ext[a] * (ext[a] - 1));
    tv += sum / count;
  }
  return tv / static_cast<double>(n);
}

double tv_sum(const std::vector<double>& x, int64_t n, const BilagridDims& d, double weight, std::vector<double>& v) {
  v.assign(x.size(), 0.0);
  double loss = 0;
  for (int64_t e = 0; e < static_cast<int64_t>(x.size()); ++e)
    loss += detail::bg_tv_element<double>(x.data(), d, e, weight / static_cast<double>(n), v.data());
  return loss;
}

TEST(BilateralGrid, IdentityGridLeavesTheRenderUnchanged) {
  std::mt19937 rng(1);
  Tensor grids = bilateral_grid_identity(3, {16, 16, 8});
  EXPECT_EQ(grids.shape(), Shape({3, 12, 8, 16, 16}));
  Tensor rgb = test::uniform({37, 53, 3}, -0.2f, 1.3f, rng);  // beyond [0, 1] too: border padding
  Tensor out = bilateral_grid_slice(grids, 2, rgb);
  const std::vector<float> a = out.to_vector<float>(), b = rgb.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-6f) << i;
  // Its backward passes v_out straight through (the luma path has no gradient in a constant grid).
  Tensor v_out = test::normal({37, 53, 3}, 0.0f, 1.0f, rng);
  Tensor v_grids = Tensor::zeros(grids.shape());
  Tensor v_rgb = bilateral_grid_slice_backward(grids, 2, rgb, v_out, v_grids);
  EXPECT_LT(test::rel_error(v_rgb.to_vector<float>(), v_out.to_vector<float>()), 1e-6);
  // Only grid 2 gets a gradient.
  const std::vector<float> vg = v_grids.to_vector<float>();
  const int64_t gsize = 12 * 8 * 16 * 16;
  for (int64_t i = 0; i < 2 * gsize; ++i) ASSERT_EQ(vg[i], 0.0f);
  // TV of identity grids: 0, no gradient.
  Tensor v_tv = Tensor::zeros(grids.shape());
  EXPECT_EQ(bilateral_grid_tv_loss(grids, 10.0f, v_tv).item(), 0.0f);
  for (float v : v_tv.to_vector<float>()) ASSERT_EQ(v, 0.0f);
}

// Every cell [diag(s) | b]: out = s * rgb + b; d out / d rgb = s; d loss / d A summed over the cells = the sums
// over the pixels of v_out_i rgb_j (the trilinear weights of a pixel sum to 1).
TEST(BilateralGrid, ConstantAffineScale) {
  std::mt19937 rng(2);
  const BilateralGridShape s{5, 4, 3};
  const int64_t cells = 5 * 4 * 3;
  const float scale[3] = {0.5f, 1.5f, 2.0f}, bias[3] = {0.1f, -0.2f, 0.05f};
  std::vector<float> g(static_cast<size_t>(12 * cells), 0.0f);
  for (int i = 0; i < 3; ++i) {
    std::fill_n(g.begin() + (4 * i + i) * cells, cells, scale[i]);
    std::fill_n(g.begin() + (4 * i + 3) * cells, cells, bias[i]);
  }
  Tensor grids = Tensor::from_vector(g, {1, 12, 3, 4, 5});
  const int H = 19, W = 23;
  Tensor rgb = test::uniform({H, W, 3}, 0.0f, 1.0f, rng);
  const std::vector<float> in = rgb.to_vector<float>(), out = bilateral_grid_slice(grids, 0, rgb).to_vector<float>();
  for (size_t p = 0; p < in.size(); ++p) ASSERT_NEAR(out[p], scale[p % 3] * in[p] + bias[p % 3], 1e-6f);
  Tensor v_out = test::normal({H, W, 3}, 0.0f, 1.0f, rng);
  Tensor v_grids = Tensor::zeros(grids.shape());
  const std::vector<float> vr = bilateral_grid_slice_backward(grids, 0, rgb, v_out, v_grids).to_vector<float>();
  const std::vector<float> vo = v_out.to_vector<float>(), vg = v_grids.to_vector<float>();
  for (size_t p = 0; p < vo.size(); ++p) ASSERT_NEAR(vr[p], scale[p % 3] * vo[p], 1e-5f);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      double want = 0, got = 0;
      for (int64_t p = 0; p < H * W; ++p) want += vo[3 * p + i] * (j < 3 ? in[3 * p + j] : 1.0f);
      for (int64_t k = 0; k < cells; ++k) got += vg[(4 * i + j) * cells + k];
      EXPECT_NEAR(got, want, 1e-4 * std::max(1.0, std::abs(want))) << i << "," << j;
    }
}

// Grids linear in the cell indices are reproduced exactly by trilinear sampling: the bias of the red row = the x
// cell coordinate, of the green row = the y one, of the blue row = the luma one; checks gsplat's coordinates
// ((x + 0.5) / W, (y + 0.5) / H, luma) with align_corners=True, and the clipping of the luma to [0, 1].
TEST(BilateralGrid, SamplesAtPixelCentresAndLuma) {
  const int gx = 6, gy = 4, gl = 5;
  const int64_t cells = gx * gy * gl;
  std::vector<float> g = bilateral_grid_identity(1, {gx, gy, gl}).to_vector<float>();
  for (int z = 0; z < gl; ++z)
    for (int y = 0; y < gy; ++y)
      for (int x = 0; x < gx; ++x) {
        const int64_t off = (z * gy + y) * gx + x;
        g[3 * cells + off] = static_cast<float>(x);
        g[7 * cells + off] = static_cast<float>(y);
        g[11 * cells + off] = static_cast<float>(z);
      }
  Tensor grids = Tensor::from_vector(g, {1, 12, gl, gy, gx});
  const int H = 7, W = 9;
  std::vector<float> rgb(H * W * 3);
  for (int p = 0; p < H * W; ++p) {
    const float v = -0.3f + 1.6f * p / (H * W - 1);  // grey levels from below 0 to above 1
    rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = v;
  }
  const std::vector<float> out = bilateral_grid_slice(grids, 0, Tensor::from_vector(rgb, {H, W, 3})).to_vector<float>();
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const int p = y * W + x;
      const double v = rgb[3 * p];
      const double luma = std::clamp(v * (0.299 + 0.587 + 0.114), 0.0, 1.0);
      EXPECT_NEAR(out[3 * p], v + (x + 0.5) / W * (gx - 1), 1e-5) << x << "," << y;
      EXPECT_NEAR(out[3 * p + 1], v + (y + 0.5) / H * (gy - 1), 1e-5) << x << "," << y;
      EXPECT_NEAR(out[3 * p + 2], v + luma * (gl - 1), 1e-5) << x << "," << y;
    }
}

struct FdCase {
  int W, H;
  BilagridDims d;
};

class BilateralGridFd : public ::testing::TestWithParam<FdCase> {};

// d sum(v_out . slice) / d grid and / d rgb against central differences (double, h = 1e-6).
TEST_P(BilateralGridFd, SliceVjpMatchesFiniteDifferences) {
  const FdCase fc = GetParam();
  const BilagridDims d = fc.d;
  std::mt19937 rng(3);
  std::vector<double> grid = noisy_grids(1, d, 0.2, rng);
  std::vector<double> rgb = uniform_vec(static_cast<size_t>(fc.W * fc.H * 3), 0.02, 0.98, rng);
  std::vector<double> v_out = uniform_vec(rgb.size(), -1.0, 1.0, rng);
  std::vector<double> v_grid, v_rgb;
  slice_vjp(grid.data(), d, fc.W, fc.H, rgb, v_out, v_grid, v_rgb);
  // Relative L2 error of `analytic` against central differences of slice_dot over every entry of x.
  double worst = 0;
  auto fd_error = [&](std::vector<double>& x, const std::vector<double>& analytic) {
    const double h = 1e-6;
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double keep = x[i];
      x[i] = keep + h;
      const double up = slice_dot(grid.data(), d, fc.W, fc.H, rgb, v_out);
      x[i] = keep - h;
      const double dn = slice_dot(grid.data(), d, fc.W, fc.H, rgb, v_out);
      x[i] = keep;
      const double fd = (up - dn) / (2 * h);
      num += (fd - analytic[i]) * (fd - analytic[i]), den += fd * fd;
      worst = std::max(worst, std::abs(fd - analytic[i]));
    }
    return std::sqrt(num / den);
  };
  const double grid_err = fd_error(grid, v_grid);
  const double rgb_err = fd_error(rgb, v_rgb);
  std::printf("[bilateral_grid] %dx%d image, grid %dx%dx%d: FD rel err d grid %.2e, d rgb %.2e (max abs %.2e)\n",
              fc.W, fc.H, d.gw, d.gh, d.gl, grid_err, rgb_err, worst);
  EXPECT_LT(grid_err, 1e-7);
  EXPECT_LT(rgb_err, 1e-7);
}

INSTANTIATE_TEST_SUITE_P(Shapes, BilateralGridFd,
                         ::testing::Values(FdCase{9, 7, dims(4, 3, 5)}, FdCase{13, 6, dims(16, 16, 8)},
                                           FdCase{6, 5, dims(1, 2, 3)}));

// The F32 ops (CPU reference, and CUDA with VGSPLAT_TEST_DEVICE=cuda) against the double reference, on grid 1 of 3.
TEST(BilateralGrid, F32OpsMatchTheDoubleReference) {
  const char* dev = std::getenv("VGSPLAT_TEST_DEVICE");
  const Device device = dev && std::string(dev) == "cuda" && test::have_cuda() ? Device::cuda(0) : Device::cpu();
  const BilagridDims d = dims(16, 16, 8);
  const int W = 61, H = 45;
  std::mt19937 rng(4);
  std::vector<double> grids = noisy_grids(3, d, 0.1, rng);
  std::vector<double> rgb = uniform_vec(static_cast<size_t>(W * H * 3), 0.0, 1.0, rng);
  std::vector<double> v_out = uniform_vec(rgb.size(), -1.0, 1.0, rng);
  const Shape gs{3, 12, d.gl, d.gh, d.gw}, is{H, W, 3};
  Tensor tg = to_tensor(grids, gs).to(device), tr = to_tensor(rgb, is).to(device), tv = to_tensor(v_out, is).to(device);
  // forward
  std::vector<double> want(rgb.size());
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      detail::bg_slice_pixel<double>(grids.data() + d.size(), d, x, y, W, H, rgb.data() + 3 * (y * W + x),
                                     want.data() + 3 * (y * W + x));
  EXPECT_LT(test::rel_error(bilateral_grid_slice(tg, 1, tr).to_vector<float>(),
                            std::vector<float>(want.begin(), want.end())),
            1e-6);
  // backward
  std::vector<double> v_grid, v_rgb;
  slice_vjp(grids.data() + d.size(), d, W, H, rgb, v_out, v_grid, v_rgb);
  Tensor v_grids = Tensor::zeros(gs, DType::F32, device);
  Tensor got_rgb = bilateral_grid_slice_backward(tg, 1, tr, tv, v_grids);
  EXPECT_LT(test::rel_error(got_rgb.to_vector<float>(), std::vector<float>(v_rgb.begin(), v_rgb.end())), 1e-5);
  const std::vector<float> vg = v_grids.to_vector<float>();
  EXPECT_LT(test::rel_error(std::vector<float>(vg.begin() + d.size(), vg.begin() + 2 * d.size()),
                            std::vector<float>(v_grid.begin(), v_grid.end())),
            1e-5);
  // TV
  std::vector<double> v_tv;
  const double tv_want = tv_sum(grids, 3, d, 10.0, v_tv);
  Tensor v_tv_t = Tensor::zeros(gs, DType::F32, device);
  EXPECT_NEAR(bilateral_grid_tv_loss(tg, 10.0f, v_tv_t).item(), tv_want, 1e-5 * tv_want);
  EXPECT_LT(test::rel_error(v_tv_t.to_vector<float>(), std::vector<float>(v_tv.begin(), v_tv.end())), 1e-5);
}

// The TV loss equals lib_bilagrid's definition written out; its gradient matches central differences (h = 1e-3).
TEST(BilateralGrid, TotalVariationAndItsGradient) {
  for (const BilagridDims& d : {dims(4, 3, 5), dims(16, 16, 8), dims(1, 3, 2)}) {
    std::mt19937 rng(5);
    const int64_t n = 2;
    std::vector<double> x = noisy_grids(n, d, 0.3, rng), v;
    const double loss = tv_sum(x, n, d, 10.0, v);
    EXPECT_NEAR(loss, 10.0 * tv_direct(x, n, d), 1e-12 * std::max(1.0, loss));
    const double h = 1e-3;  // the loss is quadratic: central differences are exact up to rounding
    double num = 0, den = 0;
    // every element of small grids, a strided sample of the default one
    const int64_t step = d.size() > 2000 ? 97 : 1;
    for (int64_t i = 0; i < static_cast<int64_t>(x.size()); i += step) {
      const double keep = x[i];
      x[i] = keep + h;
      const double up = 10.0 * tv_direct(x, n, d);
      x[i] = keep - h;
      const double dn = 10.0 * tv_direct(x, n, d);
      x[i] = keep;
      const double fd = (up - dn) / (2 * h);
      num += (fd - v[i]) * (fd - v[i]), den += fd * fd;
    }
    const double err = std::sqrt(num / std::max(den, 1e-300));
    std::printf("[bilateral_grid] TV grid %dx%dx%d: FD rel err %.2e\n", d.gw, d.gh, d.gl, err);
    EXPECT_LT(err, 1e-7);
  }
}

// Colours beyond [0, 1] clip the luma (border padding): the guidance path then has no gradient.
TEST(BilateralGrid, ClippedLumaHasNoGuidanceGradient) {
  const BilagridDims d = dims(4, 4, 4);
  std::mt19937 rng(6);
  std::vector<double> grid = noisy_grids(1, d, 0.3, rng);
  const std::vector<double> rgb = {1.4, 1.2, 1.3, -0.2, -0.1, -0.3}, v_out = {0.3, -0.7, 0.5, 1.0, 0.2, -0.4};
  std::vector<double> v_grid, v_rgb;
  slice_vjp(grid.data(), d, 2, 1, rgb, v_out, v_grid, v_rgb);
  for (int p = 0; p < 2; ++p) {
    const detail::BgSample<double> s = detail::bg_sample(d, p, 0, 2, 1, rgb.data() + 3 * p);
    double A[12];
    detail::bg_affine(grid.data(), d, s, A);
    for (int j = 0; j < 3; ++j) {
      const double direct = v_out[3 * p] * A[j] + v_out[3 * p + 1] * A[4 + j] + v_out[3 * p + 2] * A[8 + j];
      EXPECT_NEAR(v_rgb[3 * p + j], direct, 1e-12);
    }
  }
}

}  // namespace
}  // namespace vg
