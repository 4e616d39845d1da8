#include "splat/bilateral_grid.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "splat/bilateral_grid_kernels.h"

namespace vg {
namespace {

detail::BilagridDims dims_of(const BilateralGridShape& s) {
  detail::BilagridDims d;
  d.gw = s.x, d.gh = s.y, d.gl = s.w;
  return d;
}

void check_image(const char* what, const Tensor& t, const Tensor& grids) {
  VG_CHECK(t.defined() && t.dtype() == DType::F32 && t.ndim() == 3 && t.size(2) == 3, "bilateral grid: ", what,
           " must be F32 [H, W, 3], got ", t.defined() ? shape_str(t.shape()) : "(none)");
  VG_CHECK(t.device() == grids.device(), "bilateral grid: ", what, " on ", t.device().str(), ", grids on ",
           grids.device().str());
}

void check_index(const Tensor& grids, int64_t index) {
  VG_CHECK(index >= 0 && index < grids.size(0), "bilateral grid: no grid ", index, " of ", grids.size(0));
}

}  // namespace

Tensor bilateral_grid_identity(int64_t n, const BilateralGridShape& s, Device d) {
  VG_CHECK(n >= 0 && s.x >= 1 && s.y >= 1 && s.w >= 1, "bilateral grid: bad shape ", n, " x ", s.x, ",", s.y, ",",
           s.w);
  const int64_t cells = static_cast<int64_t>(s.x) * s.y * s.w;
  std::vector<float> v(static_cast<size_t>(n * 12 * cells), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int c : {0, 5, 10})  // the diagonal of the 3x4 matrix
      std::fill_n(v.begin() + (i * 12 + c) * cells, cells, 1.0f);
  return Tensor::from_vector(v, {n, 12, s.w, s.y, s.x}, d);
}

BilateralGridShape bilateral_grid_shape_of(const Tensor& grids) {
  VG_CHECK(grids.defined() && grids.dtype() == DType::F32 && grids.ndim() == 5 && grids.size(1) == 12,
           "bilateral grids must be F32 [N, 12, L, H, W], got ", grids.defined() ? shape_str(grids.shape()) : "(none)");
  BilateralGridShape s;
  s.x = static_cast<int>(grids.size(4)), s.y = static_cast<int>(grids.size(3)), s.w = static_cast<int>(grids.size(2));
  return s;
}

Tensor bilateral_grid_slice(const Tensor& grids, int64_t index, const Tensor& rgb) {
  const detail::BilagridDims d = dims_of(bilateral_grid_shape_of(grids));
  check_index(grids, index);
  check_image("rgb", rgb, grids);
  const int H = static_cast<int>(rgb.size(0)), W = static_cast<int>(rgb.size(1));
  Tensor out = Tensor::empty(rgb.shape(), DType::F32, rgb.device());
  const float* g = grids.data<float>() + index * d.size();
  const float* in = rgb.data<float>();
  float* o = out.data<float>();
  if (rgb.is_cuda()) {
    detail::bilagrid_slice_cuda(g, d, H, W, in, o);
    return out;
  }
  parallel_for(static_cast<int64_t>(H) * W, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p)
      detail::bg_slice_pixel<float>(g, d, static_cast<int>(p % W), static_cast<int>(p / W), W, H, in + 3 * p, o + 3 * p);
  }, 1 << 12);
  return out;
}

Tensor bilateral_grid_slice_backward(const Tensor& grids, int64_t index, const Tensor& rgb, const Tensor& v_out,
                                     Tensor& v_grids) {
  const detail::BilagridDims d = dims_of(bilateral_grid_shape_of(grids));
  check_index(grids, index);
  check_image("rgb", rgb, grids);
  check_image("v_out", v_out, grids);
  VG_CHECK(v_out.shape() == rgb.shape(), "bilateral grid: v_out ", shape_str(v_out.shape()), " for rgb ",
           shape_str(rgb.shape()));
  VG_CHECK(v_grids.defined() && v_grids.shape() == grids.shape() && v_grids.dtype() == DType::F32 &&
               v_grids.device() == grids.device(),
           "bilateral grid: v_grids must match the grids ", shape_str(grids.shape()));
  const int H = static_cast<int>(rgb.size(0)), W = static_cast<int>(rgb.size(1));
  Tensor v_rgb = Tensor::empty(rgb.shape(), DType::F32, rgb.device());
  const float* g = grids.data<float>() + index * d.size();
  const float *in = rgb.data<float>(), *vo = v_out.data<float>();
  float* vg = v_grids.data<float>() + index * d.size();
  float* vr = v_rgb.data<float>();
  if (rgb.is_cuda()) {
    detail::bilagrid_slice_backward_cuda(g, d, H, W, in, vo, vg, vr);
    return v_rgb;
  }
  // Row bands with a partial grid gradient each, summed in band order: the same bits for any thread count.
  const int bands = std::max(1, std::min(H, 16));
  const int64_t gsize = d.size();
  std::vector<float> partial(static_cast<size_t>(bands * gsize), 0.0f);
  parallel_for(bands, [&](int64_t b0, int64_t b1) {
    for (int64_t band = b0; band < b1; ++band) {
      float* acc = partial.data() + band * gsize;
      const int64_t plane = d.cells();
      auto add = [acc, plane](const detail::BgCell& cell, float w, const float* vA) {
        for (int c = 0; c < 12; ++c) acc[c * plane + cell.off] += w * vA[c];
      };
      for (int y = static_cast<int>(band * H / bands); y < static_cast<int>((band + 1) * H / bands); ++y)
        for (int x = 0; x < W; ++x) {
          const int64_t p = static_cast<int64_t>(y) * W + x;
          detail::bg_slice_pixel_vjp<float>(g, d, x, y, W, H, in + 3 * p, vo + 3 * p, vr + 3 * p, add);
        }
    }
  }, 1);
  parallel_for(gsize, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float s = 0.0f;
      for (int band = 0; band < bands; ++band) s += partial[band * gsize + i];
      vg[i] += s;
    }
  }, 1 << 14);
  return v_rgb;
}

Tensor bilateral_grid_tv_loss(const Tensor& grids, float weight, Tensor& v_grids) {
  const detail::BilagridDims d = dims_of(bilateral_grid_shape_of(grids));
  VG_CHECK(v_grids.defined() && v_grids.shape() == grids.shape() && v_grids.dtype() == DType::F32 &&
               v_grids.device() == grids.device(),
           "bilateral grid TV: v_grids must match the grids ", shape_str(grids.shape()));
  const int64_t n = grids.size(0);
  Tensor loss = Tensor::zeros({1}, DType::F32, grids.device());
  if (n == 0) return loss;
  const float scale = static_cast<float>(weight / static_cast<double>(n));
  const float* g = grids.data<float>();
  float* v = v_grids.data<float>();
  if (grids.is_cuda()) {
    detail::bilagrid_tv_cuda(g, n, d, scale, v, loss.data<float>());
    return loss;
  }
  // Per-grid sums in double, added in grid order: the same value for any thread count.
  std::vector<double> per_grid(static_cast<size_t>(n), 0.0);
  const int64_t gsize = d.size();
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      double s = 0;
      for (int64_t k = i * gsize; k < (i + 1) * gsize; ++k) s += detail::bg_tv_element<float>(g, d, k, scale, v);
      per_grid[i] = s;
    }
  }, 1);
  double sum = 0;
  for (double s : per_grid) sum += s;
  loss.data<float>()[0] = static_cast<float>(sum);
  return loss;
}

}  // namespace vg
