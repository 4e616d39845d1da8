#include "tracks/deform_conv.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Core>

#include "core/error.h"
#include "core/parallel.h"

namespace vg::tracks::ops {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void expect_f32_cpu(const Tensor& t, const char* name, int ndim) {
  VG_CHECK(t.defined() && t.ndim() == ndim && t.dtype() == DType::F32 && !t.is_cuda(), "deform_conv2d: ", name,
           " must be an F32 CPU tensor with ", ndim, " dimensions, got ",
           t.defined() ? shape_str(t.shape()) : "undefined");
}

// One deformed sampling point: the four bilinear corners (flat index into an H*W plane, weight; weight 0 for a
// corner outside the map) and the modulation scalar. As torchvision's bilinear_interpolate: a point at or
// beyond one pixel outside the map samples 0.
struct SamplePoint {
  int64_t idx[4] = {0, 0, 0, 0};
  float w[4] = {0, 0, 0, 0};
  float mask = 1;
};

SamplePoint sample_point(float py, float px, int64_t H, int64_t W, float mask) {
  SamplePoint s;
  s.mask = mask;
  if (py <= -1 || py >= static_cast<float>(H) || px <= -1 || px >= static_cast<float>(W)) return s;
  const int64_t y0 = static_cast<int64_t>(std::floor(py)), x0 = static_cast<int64_t>(std::floor(px));
  const float ly = py - static_cast<float>(y0), lx = px - static_cast<float>(x0);
  const float hy = 1 - ly, hx = 1 - lx;
  const int64_t ys[4] = {y0, y0, y0 + 1, y0 + 1}, xs[4] = {x0, x0 + 1, x0, x0 + 1};
  const float ws[4] = {hy * hx, hy * lx, ly * hx, ly * lx};
  for (int k = 0; k < 4; ++k)
    if (ys[k] >= 0 && ys[k] < H && xs[k] >= 0 && xs[k] < W) {
      s.idx[k] = ys[k] * W + xs[k];
      s.w[k] = ws[k];
    }
  return s;
}

struct Dims {
  int64_t C, H, W, O, kh, kw, K, G, Ho, Wo;
};

Dims check_dims(const Tensor& x, const Tensor& offset, const Tensor& weight, const Tensor& bias, const Tensor& mask,
                const DeformConvGeometry& geo) {
  expect_f32_cpu(x, "input", 3);
  expect_f32_cpu(offset, "offset", 3);
  expect_f32_cpu(weight, "weight", 4);
  VG_CHECK(geo.stride >= 1 && geo.pad >= 0 && geo.dilation >= 1, "deform_conv2d: bad stride ", geo.stride,
           ", padding ", geo.pad, " or dilation ", geo.dilation);
  Dims d{};
  d.C = x.size(0), d.H = x.size(1), d.W = x.size(2);
  d.O = weight.size(0), d.kh = weight.size(2), d.kw = weight.size(3), d.K = d.kh * d.kw;
  VG_CHECK(weight.size(1) == d.C, "deform_conv2d: weight ", shape_str(weight.shape()), " does not fit input ",
           shape_str(x.shape()), " (groups other than 1 are not supported)");
  d.Ho = (d.H + 2 * geo.pad - geo.dilation * (d.kh - 1) - 1) / geo.stride + 1;
  d.Wo = (d.W + 2 * geo.pad - geo.dilation * (d.kw - 1) - 1) / geo.stride + 1;
  VG_CHECK(d.Ho > 0 && d.Wo > 0, "deform_conv2d: input ", shape_str(x.shape()), " is smaller than the kernel");
  d.G = offset.size(0) / (2 * d.K);
  VG_CHECK(d.G >= 1 && offset.size(0) == 2 * d.G * d.K && d.C % d.G == 0 && offset.size(1) == d.Ho &&
               offset.size(2) == d.Wo,
           "deform_conv2d: offset ", shape_str(offset.shape()), " must be [2 * offset_groups * ", d.K, ", ", d.Ho,
           ", ", d.Wo, "] with offset_groups dividing ", d.C, " channels");
  if (mask.defined()) {
    expect_f32_cpu(mask, "mask", 3);
    VG_CHECK(mask.shape() == Shape({d.G * d.K, d.Ho, d.Wo}), "deform_conv2d: mask ", shape_str(mask.shape()),
             " must be ", shape_str({d.G * d.K, d.Ho, d.Wo}));
  }
  VG_CHECK(!bias.defined() || (bias.numel() == d.O && bias.dtype() == DType::F32 && !bias.is_cuda()),
           "deform_conv2d: bias must be F32 [", d.O, "]");
  return d;
}

}  // namespace

Tensor deform_conv2d(const Tensor& x, const Tensor& offset, const Tensor& weight, const Tensor& bias,
                     const Tensor& mask, const DeformConvGeometry& geo) {
  const Dims d = check_dims(x, offset, weight, bias, mask, geo);
  const int64_t P = d.Ho * d.Wo, CK = d.C * d.K, per_group = d.C / d.G;
  Tensor out = Tensor::empty({d.O, d.Ho, d.Wo});
  const float* xs = x.data<float>();
  const float* off = offset.data<float>();
  const float* ms = mask.defined() ? mask.data<float>() : nullptr;
  const float* bs = bias.defined() ? bias.data<float>() : nullptr;
  float* os = out.data<float>();
  Eigen::Map<const RowMat> wm(weight.data<float>(), d.O, CK);
  const int64_t block = 64;  // output pixels per GEMM
  parallel_for(
      P,
      [&](int64_t begin, int64_t end) {
        std::vector<float> cols(static_cast<size_t>(block * CK));
        std::vector<SamplePoint> pts(static_cast<size_t>(d.G * d.K));
        for (int64_t p0 = begin; p0 < end; p0 += block) {
          const int64_t n = std::min(block, end - p0);
          for (int64_t i = 0; i < n; ++i) {  // deformable im2col: row i = the sampled field of pixel p0 + i
            const int64_t p = p0 + i, oy = p / d.Wo, ox = p % d.Wo;
            for (int64_t gt = 0; gt < d.G * d.K; ++gt) {
              const int64_t t = gt % d.K;
              const float dy = off[(2 * gt) * P + p], dx = off[(2 * gt + 1) * P + p];
              const float py = static_cast<float>(oy * geo.stride - geo.pad + (t / d.kw) * geo.dilation) + dy;
              const float px = static_cast<float>(ox * geo.stride - geo.pad + (t % d.kw) * geo.dilation) + dx;
              pts[gt] = sample_point(py, px, d.H, d.W, ms ? ms[gt * P + p] : 1.0f);
            }
            float* row = cols.data() + i * CK;
            for (int64_t c = 0; c < d.C; ++c) {
              const float* plane = xs + c * d.H * d.W;
              const SamplePoint* g = pts.data() + (c / per_group) * d.K;
              for (int64_t t = 0; t < d.K; ++t) {
                const SamplePoint& s = g[t];
                const float v = s.w[0] * plane[s.idx[0]] + s.w[1] * plane[s.idx[1]] + s.w[2] * plane[s.idx[2]] +
                                s.w[3] * plane[s.idx[3]];
                row[c * d.K + t] = s.mask * v;
              }
            }
          }
          Eigen::Map<const RowMat> cm(cols.data(), n, CK);
          Eigen::Map<RowMat, 0, Eigen::OuterStride<>> om(os + p0, d.O, n, Eigen::OuterStride<>(P));
          om.noalias() = wm * cm.transpose();
          if (bs)
            for (int64_t o = 0; o < d.O; ++o)
              for (int64_t i = 0; i < n; ++i) os[o * P + p0 + i] += bs[o];
        }
      },
      64);
  return out;
}

}  // namespace vg::tracks::ops
