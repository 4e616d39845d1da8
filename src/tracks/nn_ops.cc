#include "tracks/nn_ops.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"

namespace vg::tracks::ops {

namespace {

void expect_map(const Tensor& x, const char* op) {
  VG_CHECK(x.defined() && x.dtype() == DType::F32 && !x.is_cuda() && x.ndim() == 3, op,
           ": expected an F32 CPU feature map [C,H,W], got ", x.defined() ? shape_str(x.shape()) : "nothing");
}

void expect_points(const Tensor& p, const char* op) {
  VG_CHECK(p.defined() && p.dtype() == DType::F32 && !p.is_cuda() && p.ndim() == 2 && p.size(1) == 2, op,
           ": expected F32 CPU points [N,2], got ", p.defined() ? shape_str(p.shape()) : "nothing");
}

// Bilinear taps of one channel-major map at pixel position (x, y) (pixel centres at integers), the way
// grid_sampler_2d does it: border padding clips the position first; zeros padding drops taps outside.
void sample_at(const float* map, int64_t C, int64_t H, int64_t W, float x, float y, Padding padding, float* out) {
  if (padding == Padding::kBorder) {
    x = std::min(std::max(x, 0.f), static_cast<float>(W - 1));
    y = std::min(std::max(y, 0.f), static_cast<float>(H - 1));
  }
  const float fx = std::floor(x), fy = std::floor(y);
  const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
  const float ax = x - fx, ay = y - fy;
  const float w[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
  const int64_t xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
  for (int64_t c = 0; c < C; ++c) out[c] = 0.f;
  for (int t = 0; t < 4; ++t) {
    if (xs[t] < 0 || xs[t] >= W || ys[t] < 0 || ys[t] >= H) continue;
    const float* px = map + ys[t] * W + xs[t];
    for (int64_t c = 0; c < C; ++c) out[c] += w[t] * px[c * H * W];
  }
}

}  // namespace

void instance_norm_(Tensor& x, float eps) {
  expect_map(x, "instance_norm");
  const int64_t C = x.size(0), HW = x.size(1) * x.size(2);
  float* xs = x.data<float>();
  parallel_for(
      C,
      [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
          float* v = xs + c * HW;
          double mean = 0, var = 0;
          for (int64_t i = 0; i < HW; ++i) mean += v[i];
          mean /= static_cast<double>(HW);
          for (int64_t i = 0; i < HW; ++i) var += (v[i] - mean) * (v[i] - mean);
          const double inv = 1.0 / std::sqrt(var / static_cast<double>(HW) + eps);  // biased variance
          for (int64_t i = 0; i < HW; ++i) v[i] = static_cast<float>((v[i] - mean) * inv);
        }
      },
      1);
}

void batch_norm_(Tensor& x, const Tensor& w, const Tensor& b, const Tensor& mean, const Tensor& var, float eps) {
  expect_map(x, "batch_norm");
  const int64_t C = x.size(0), HW = x.size(1) * x.size(2);
  for (const Tensor* t : {&w, &b, &mean, &var})
    VG_CHECK(t->defined() && t->numel() == C, "batch_norm: parameter of ", t->defined() ? t->numel() : 0,
             " elements for ", C, " channels");
  float* xs = x.data<float>();
  const float *ws = w.data<float>(), *bs = b.data<float>(), *ms = mean.data<float>(), *vs = var.data<float>();
  parallel_for(
      C,
      [&](int64_t lo, int64_t hi) {
        for (int64_t c = lo; c < hi; ++c) {
          const float scale = ws[c] / std::sqrt(vs[c] + eps), shift = bs[c] - ms[c] * scale;
          float* v = xs + c * HW;
          for (int64_t i = 0; i < HW; ++i) v[i] = v[i] * scale + shift;
        }
      },
      1);
}

Tensor grid_sample_points(const Tensor& x, const Tensor& g, bool align_corners, Padding padding) {
  expect_map(x, "grid_sample");
  expect_points(g, "grid_sample");
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2), N = g.size(0);
  Tensor out = Tensor::empty({N, C});
  const float* gs = g.data<float>();
  const float* xs = x.data<float>();
  float* os = out.data<float>();
  // grid_sampler_unnormalize: [-1, 1] -> pixel centres 0 .. size-1 (align_corners) or edges -0.5 .. size-0.5.
  auto unnorm = [align_corners](float v, int64_t size) {
    return align_corners ? (v + 1.f) / 2.f * static_cast<float>(size - 1)
                         : ((v + 1.f) * static_cast<float>(size) - 1.f) / 2.f;
  };
  parallel_for(
      N,
      [&](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; ++n)
          sample_at(xs, C, H, W, unnorm(gs[2 * n], W), unnorm(gs[2 * n + 1], H), padding, os + n * C);
      },
      64);
  return out;
}

}  // namespace vg::tracks::ops
