// CUDA kernels of the keypoint detectors (see cuda_keypoint_kernels.h). One thread per output element; each
// mirrors the CPU reference named in its comment (superpoint.cc, aliked.cc, deform_conv.cc).
#include <cmath>
#include <cstdint>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "core/error.h"
#include "tracks/cuda_keypoint_kernels.h"

namespace vg::tracks::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kBins = 65;  // SuperPoint: 64 cell positions + dustbin
constexpr int kCell = 8;




// superpoint.cc grayscale(): (0.299 r + 0.587 g) + 0.114 b, rounded as the CPU does it (no FMA contraction).
__global__ void gray_kernel(const float* __restrict__ img, int64_t C, int64_t n, float* __restrict__ out) {
  VG_GRID_STRIDE(i, n) {
    if (C == 1) {
      out[i] = img[i];
    } else {
      const float r = __fmul_rn(0.299f, img[i]), g = __fmul_rn(0.587f, img[n + i]), b = __fmul_rn(0.114f, img[2 * n + i]);
      out[i] = __fadd_rn(__fadd_rn(r, g), b);
    }
  }
}

// aliked.cc pad_replicate (InputPadder, mode "replicate") + grayscale_to_rgb, CHW -> NHWC.
__global__ void padded_rgb_kernel(const float* __restrict__ img, int64_t C, int64_t H, int64_t W, int64_t top,
                                  int64_t left, int64_t Hp, int64_t Wp, float* __restrict__ out) {
  VG_GRID_STRIDE(i, Hp * Wp * 3) {
    const int64_t c = i % 3, x = (i / 3) % Wp, y = i / (3 * Wp);
    int64_t sy = y - top, sx = x - left;
    sy = sy < 0 ? 0 : (sy >= H ? H - 1 : sy);
    sx = sx < 0 ? 0 : (sx >= W ? W - 1 : sx);
    out[i] = img[(C == 1 ? 0 : c) * H * W + sy * W + sx];
  }
}

// superpoint.cc cell_softmax_to_pixels: one thread per 8x8 cell.
__global__ void cell_softmax_kernel(const float* __restrict__ logits, int64_t h, int64_t w, float* __restrict__ out) {
  VG_GRID_STRIDE(q, h * w) {
    const float* l = logits + q * kBins;
    float m = -INFINITY;
    for (int c = 0; c < kBins; ++c) m = fmaxf(m, l[c]);
    float p[kBins];
    float sum = 0.0f;
    for (int c = 0; c < kBins; ++c) {
      p[c] = expf(l[c] - m);
      sum += p[c];
    }
    const int64_t y = q / w, x = q % w;
    for (int c = 0; c < kCell * kCell; ++c)
      out[(y * kCell + c / kCell) * (w * kCell) + x * kCell + c % kCell] = p[c] / sum;
  }
}

// F.max_pool2d(kernel 2r+1, stride 1, padding r) of a map [H, W] (padding never wins: -inf).
__global__ void window_max_kernel(const float* __restrict__ s, int64_t H, int64_t W, int r, float* __restrict__ out) {
  VG_GRID_STRIDE(i, H * W) {
    const int64_t y = i / W, x = i % W;
    const int64_t y0 = y - r < 0 ? 0 : y - r, y1 = y + r >= H ? H - 1 : y + r;
    const int64_t x0 = x - r < 0 ? 0 : x - r, x1 = x + r >= W ? W - 1 : x + r;
    float m = -INFINITY;
    for (int64_t v = y0; v <= y1; ++v)
      for (int64_t u = x0; u <= x1; ++u) m = fmaxf(m, s[v * W + u]);
    out[i] = m;
  }
}

// simple_nms step 0: max_mask = scores == max_pool(scores).
__global__ void nms_init_kernel(const float* __restrict__ s, const float* __restrict__ pooled, int64_t n,
                                float* __restrict__ keep) {
  VG_GRID_STRIDE(i, n) keep[i] = s[i] == pooled[i] ? 1.0f : 0.0f;
}

// supp_scores = where(supp_mask, 0, scores) with supp_mask = max_pool(max_mask) > 0.
__global__ void nms_suppress_kernel(const float* __restrict__ s, const float* __restrict__ area, int64_t n,
                                    float* __restrict__ supp) {
  VG_GRID_STRIDE(i, n) supp[i] = area[i] > 0 ? 0.0f : s[i];
}

// max_mask |= (supp_scores == max_pool(supp_scores)) & ~supp_mask.
__global__ void nms_update_kernel(const float* __restrict__ supp, const float* __restrict__ pooled,
                                  const float* __restrict__ area, int64_t n, float* __restrict__ keep) {
  VG_GRID_STRIDE(i, n) {
    if (supp[i] == pooled[i] && !(area[i] > 0)) keep[i] = 1.0f;
  }
}

__global__ void nms_final_kernel(const float* __restrict__ s, const float* __restrict__ keep, int64_t n,
                                 float* __restrict__ out) {
  VG_GRID_STRIDE(i, n) out[i] = keep[i] > 0 ? s[i] : 0.0f;
}

__global__ void zero_border_kernel(float* __restrict__ s, int64_t H, int64_t W, int r) {
  VG_GRID_STRIDE(i, H * W) {
    const int64_t y = i / W, x = i % W;
    if (y < r || y >= H - r || x < r || x >= W - r) s[i] = 0.0f;
  }
}

// superpoint.cc select_keypoints' candidate test: outside the border (scores := -1 there) and > threshold.
__global__ void candidates_kernel(const float* __restrict__ s, int64_t H, int64_t W, int pad, float threshold,
                                  int32_t* __restrict__ idx, float* __restrict__ score, int32_t* __restrict__ count) {
  VG_GRID_STRIDE(i, H * W) {
    const int64_t y = i / W, x = i % W;
    const bool border = pad > 0 && (y < pad || y >= H - pad || x < pad || x >= W - pad);
    if (!border && s[i] > threshold) {
      const int32_t k = atomicAdd(count, 1);
      idx[k] = static_cast<int32_t>(i);
      score[k] = s[i];
    }
  }
}

// vggt/cpu_ops.cc selu_ / sigmoid_.
__global__ void selu_kernel(float* __restrict__ x, int64_t n) {
  constexpr float kAlpha = 1.6732632423543772f, kScale = 1.0507009873554805f;
  VG_GRID_STRIDE(i, n) {
    const float v = x[i];
    x[i] = kScale * (v > 0 ? v : kAlpha * expm1f(v));
  }
}

__global__ void sigmoid_kernel(float* __restrict__ x, int64_t n) {
  VG_GRID_STRIDE(i, n) x[i] = 1.f / (1.f + expf(-x[i]));
}

// aliked.cc avg_pool2d: the k x k sum in (dy, dx) order, then / k^2.
__global__ void avg_pool_kernel(const float* __restrict__ x, int64_t H, int64_t W, int64_t C, int k, int64_t Ho,
                                int64_t Wo, float* __restrict__ out) {
  VG_GRID_STRIDE(i, Ho * Wo * C) {
    const int64_t c = i % C, ox = (i / C) % Wo, oy = i / (C * Wo);
    float s = 0;
    for (int dy = 0; dy < k; ++dy)
      for (int dx = 0; dx < k; ++dx) s += x[((oy * k + dy) * W + ox * k + dx) * C + c];
    out[i] = s / static_cast<float>(k * k);
  }
}

__global__ void crop_kernel(const float* __restrict__ x, int64_t W, int64_t C, int64_t top, int64_t left, int64_t Ho,
                            int64_t Wo, float* __restrict__ out) {
  VG_GRID_STRIDE(i, Ho * Wo * C) {
    const int64_t c = i % C, xx = (i / C) % Wo, y = i / (C * Wo);
    out[i] = x[((y + top) * W + xx + left) * C + c];
  }
}

// deform_conv.cc sample_point + the deformable im2col row: one thread per (pixel, tap, channel), channel fastest.
__global__ void deform_im2col_kernel(const float* __restrict__ x, int64_t H, int64_t W, int64_t C,
                                     const float* __restrict__ offset, int k, int stride, int pad, int dil,
                                     float max_offset, int64_t Wo, int64_t row0, int64_t rows,
                                     float* __restrict__ out) {
  const int64_t K = static_cast<int64_t>(k) * k;
  VG_GRID_STRIDE(i, rows * K * C) {
    const int64_t c = i % C, t = (i / C) % K, p = row0 + i / (C * K);
    const int64_t oy = p / Wo, ox = p % Wo;
    // aliked.cc DeformableConv2d: offsets clamped to +-max_offset (fminf / fmaxf as std::min / std::max).
    const float dy = fminf(fmaxf(offset[p * 2 * K + 2 * t], -max_offset), max_offset);
    const float dx = fminf(fmaxf(offset[p * 2 * K + 2 * t + 1], -max_offset), max_offset);
    const float py = static_cast<float>(oy * stride - pad + (t / k) * dil) + dy;
    const float px = static_cast<float>(ox * stride - pad + (t % k) * dil) + dx;
    float v = 0.0f;
    if (!(py <= -1 || py >= static_cast<float>(H) || px <= -1 || px >= static_cast<float>(W))) {
      const int64_t y0 = static_cast<int64_t>(floorf(py)), x0 = static_cast<int64_t>(floorf(px));
      const float ly = py - static_cast<float>(y0), lx = px - static_cast<float>(x0);
      const float hy = 1 - ly, hx = 1 - lx;
      const bool y0in = y0 >= 0, y1in = y0 + 1 < H, x0in = x0 >= 0, x1in = x0 + 1 < W;
      const float v00 = y0in && x0in ? x[(y0 * W + x0) * C + c] : 0.0f;
      const float v01 = y0in && x1in ? x[(y0 * W + x0 + 1) * C + c] : 0.0f;
      const float v10 = y1in && x0in ? x[((y0 + 1) * W + x0) * C + c] : 0.0f;
      const float v11 = y1in && x1in ? x[((y0 + 1) * W + x0 + 1) * C + c] : 0.0f;
      v = hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11;
    }
    out[i] = v;
  }
}

}  // namespace

void image_to_gray(const float* chw, int64_t C, int64_t H, int64_t W, float* out) {
  VG_LAUNCH(gray_kernel, H * W, chw, C, H * W, out);
}

void image_to_padded_rgb(const float* chw, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t Hp,
                         int64_t Wp, float* out) {
  VG_LAUNCH(padded_rgb_kernel, Hp * Wp * 3, chw, C, H, W, top, left, Hp, Wp, out);
}

void cell_softmax_to_pixels(const float* logits, int64_t h, int64_t w, float* out) {
  VG_LAUNCH(cell_softmax_kernel, h * w, logits, h, w, out);
}

// superpoint.cc simple_nms, step by step: pooled / keep / suppressed area / suppressed scores in scratch.
void simple_nms(const float* s, int64_t H, int64_t W, int r, float* out, float* scratch) {
  const int64_t n = H * W;
  float *pooled = scratch, *keep = scratch + n, *area = scratch + 2 * n, *supp = scratch + 3 * n;
  VG_LAUNCH(window_max_kernel, n, s, H, W, r, pooled);
  VG_LAUNCH(nms_init_kernel, n, s, pooled, n, keep);
  for (int iter = 0; iter < 2; ++iter) {
    VG_LAUNCH(window_max_kernel, n, keep, H, W, r, area);
    VG_LAUNCH(nms_suppress_kernel, n, s, area, n, supp);
    VG_LAUNCH(window_max_kernel, n, supp, H, W, r, pooled);
    VG_LAUNCH(nms_update_kernel, n, supp, pooled, area, n, keep);
  }
  VG_LAUNCH(nms_final_kernel, n, s, keep, n, out);
}

void zero_border(float* s, int64_t H, int64_t W, int r) { VG_LAUNCH(zero_border_kernel, H * W, s, H, W, r); }

void threshold_candidates(const float* s, int64_t H, int64_t W, int border, float threshold, int32_t* idx,
                          float* score, int32_t* count) {
  VG_LAUNCH(candidates_kernel, H * W, s, H, W, border, threshold, idx, score, count);
}

void selu(float* x, int64_t n) { VG_LAUNCH(selu_kernel, n, x, n); }
void sigmoid(float* x, int64_t n) { VG_LAUNCH(sigmoid_kernel, n, x, n); }

void avg_pool(const float* x, int64_t H, int64_t W, int64_t C, int k, float* out) {
  const int64_t Ho = H / k, Wo = W / k;
  VG_LAUNCH(avg_pool_kernel, Ho * Wo * C, x, H, W, C, k, Ho, Wo, out);
}

void crop(const float* x, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t Ho, int64_t Wo,
          float* out) {
  VG_CHECK(top >= 0 && left >= 0 && top + Ho <= H && left + Wo <= W, "crop: window out of the map");
  VG_LAUNCH(crop_kernel, Ho * Wo * C, x, W, C, top, left, Ho, Wo, out);
}

void deform_im2col(const float* x, int64_t H, int64_t W, int64_t C, const float* offset, int k, int stride, int pad,
                   int dil, float max_offset, int64_t Wo, int64_t row0, int64_t rows, float* out) {
  VG_LAUNCH(deform_im2col_kernel, rows * k * k * C, x, H, W, C, offset, k, stride, pad, dil, max_offset, Wo, row0,
               rows, out);
}

}  // namespace vg::tracks::cuda
