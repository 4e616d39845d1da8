#include "metrics/conv2d.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include "core/error.h"
#include "core/parallel.h"

namespace vg::nn {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void expect_feature_map(const Tensor& x, const char* op) {
  VG_CHECK(x.defined() && x.ndim() == 3 && x.dtype() == DType::F32 && !x.is_cuda(), op,
           ": expected an F32 CPU feature map [C,H,W], got ", x.defined() ? shape_str(x.shape()) : "undefined");
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int pad) {
  expect_feature_map(x, "conv2d");
  VG_CHECK(weight.ndim() == 4 && weight.dtype() == DType::F32 && !weight.is_cuda() && weight.size(1) == x.size(0),
           "conv2d: weight ", shape_str(weight.shape()), " does not fit input ", shape_str(x.shape()));
  VG_CHECK(stride >= 1 && pad >= 0, "conv2d: bad stride ", stride, " or padding ", pad);
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2);
  const int64_t O = weight.size(0), kh = weight.size(2), kw = weight.size(3);
  VG_CHECK(!bias.defined() || (bias.numel() == O && bias.dtype() == DType::F32 && !bias.is_cuda()),
           "conv2d: bias must be F32 [", O, "]");
  VG_CHECK(H + 2 * pad >= kh && W + 2 * pad >= kw, "conv2d: input ", H, "x", W, " smaller than the kernel ", kh,
           "x", kw);
  const int64_t Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
  const int64_t K = C * kh * kw, P = Ho * Wo;
  Tensor out = Tensor::empty({O, Ho, Wo});
  const float* xs = x.data<float>();
  const float* bs = bias.defined() ? bias.data<float>() : nullptr;
  float* os = out.data<float>();
  Eigen::Map<const RowMat> wm(weight.data<float>(), O, K);
  const int64_t block = 64;  // output pixels per GEMM: the patch matrix stays cache-sized
  parallel_for(
      P,
      [&](int64_t begin, int64_t end) {
        std::vector<float> patches(static_cast<size_t>(block * K));
        for (int64_t p0 = begin; p0 < end; p0 += block) {
          const int64_t n = std::min(block, end - p0);
          for (int64_t i = 0; i < n; ++i) {  // im2col: row i = the receptive field of output pixel p0 + i
            const int64_t oy = (p0 + i) / Wo, ox = (p0 + i) % Wo;
            float* row = patches.data() + i * K;
            for (int64_t c = 0; c < C; ++c)
              for (int64_t ky = 0; ky < kh; ++ky) {
                const int64_t iy = oy * stride - pad + ky;
                const bool row_in = iy >= 0 && iy < H;
                for (int64_t kx = 0; kx < kw; ++kx) {
                  const int64_t ix = ox * stride - pad + kx;
                  *row++ = row_in && ix >= 0 && ix < W ? xs[(c * H + iy) * W + ix] : 0.0f;
                }
              }
          }
          Eigen::Map<const RowMat> pm(patches.data(), n, K);
          Eigen::Map<RowMat, 0, Eigen::OuterStride<>> om(os + p0, O, n, Eigen::OuterStride<>(P));
          om.noalias() = wm * pm.transpose();
          if (bs)
            for (int64_t o = 0; o < O; ++o) om.row(o).array() += bs[o];
        }
      },
      /*grain=*/block);
  return out;
}

void relu_(Tensor& x) {
  VG_CHECK(x.defined() && x.dtype() == DType::F32 && !x.is_cuda(), "relu_: expected an F32 CPU tensor");
  float* v = x.data<float>();
  parallel_for(
      x.numel(),
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) v[i] = std::max(v[i], 0.0f);
      },
      1 << 16);
}

Tensor max_pool2d(const Tensor& x, int kernel, int stride, int pad) {
  expect_feature_map(x, "max_pool2d");
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2);
  VG_CHECK(kernel >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= kernel && H + 2 * pad >= kernel &&
               W + 2 * pad >= kernel,
           "max_pool2d: input ", H, "x", W, " smaller than the window ", kernel, " (padding ", pad, ")");
  const int64_t Ho = (H + 2 * pad - kernel) / stride + 1, Wo = (W + 2 * pad - kernel) / stride + 1;
  Tensor out = Tensor::empty({C, Ho, Wo});
  const float* xs = x.data<float>();
  float* os = out.data<float>();
  parallel_for(
      C,
      [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c)
          for (int64_t oy = 0; oy < Ho; ++oy) {
            const int64_t y0 = std::max<int64_t>(0, oy * stride - pad),
                          y1 = std::min<int64_t>(H, oy * stride - pad + kernel);
            for (int64_t ox = 0; ox < Wo; ++ox) {
              const int64_t x0 = std::max<int64_t>(0, ox * stride - pad),
                            x1 = std::min<int64_t>(W, ox * stride - pad + kernel);
              float m = -std::numeric_limits<float>::infinity();  // padding acts as -inf
              for (int64_t iy = y0; iy < y1; ++iy)
                for (int64_t ix = x0; ix < x1; ++ix) {
                  const float v = xs[(c * H + iy) * W + ix];
                  if (v > m || std::isnan(v)) m = v;  // NaN propagates, as in torch
                  if (std::isnan(m)) break;
                }
              os[(c * Ho + oy) * Wo + ox] = m;
            }
          }
      },
      8);
  return out;
}

}  // namespace vg::nn
