// VGGT CUDA kernels besides GEMM and attention: LayerNorm, elementwise activations, token assembly, the
// camera head's adaLN / pose update, and the DPT head's feature-map ops (NHWC).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "core/error.h"
#include "vggt/cuda_convert.cuh"
#include "vggt/cuda_ops.h"

namespace vg::vggt::cuda {

namespace {

constexpr int kBlock = 256;
__constant__ float kResnetMean[3] = {0.485f, 0.456f, 0.406f};
__constant__ float kResnetStd[3] = {0.229f, 0.224f, 0.225f};



// One warp per row; mean and variance in two passes (biased variance, as nn.LayerNorm).
__global__ void layer_norm_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows, int64_t C,
                                  const float* __restrict__ w, const float* __restrict__ b, float eps) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const float* xr = x + row * C;
  float* yr = y + row * C;
  float sum = 0.0f;
  for (int64_t c = lane; c < C; c += 32) sum += xr[c];
  for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  const float mean = sum / static_cast<float>(C);
  float var = 0.0f;
  for (int64_t c = lane; c < C; c += 32) var += (xr[c] - mean) * (xr[c] - mean);
  for (int o = 16; o > 0; o /= 2) var += __shfl_xor_sync(0xffffffffu, var, o);
  const float inv = rsqrtf(var / static_cast<float>(C) + eps);
  for (int64_t c = lane; c < C; c += 32) {
    const float v = (xr[c] - mean) * inv;
    yr[c] = (w ? v * w[c] : v) + (b ? b[c] : 0.0f);
  }
}

__global__ void relu_kernel(const float* x, float* y, int64_t n) {
  VG_GRID_STRIDE(i, n) y[i] = fmaxf(x[i], 0.0f);
}
__global__ void silu_kernel(const float* x, float* y, int64_t n) {
  VG_GRID_STRIDE(i, n) y[i] = x[i] / (1.0f + expf(-x[i]));
}
__global__ void add_kernel(const float* a, const float* b, float* y, int64_t n) {
  VG_GRID_STRIDE(i, n) y[i] = a[i] + b[i];
}
__global__ void copy_rows_kernel(const float* src, int64_t src_ld, int64_t src_off, float* dst, int64_t dst_ld,
                                 int64_t dst_off, int64_t rows, int64_t cols) {
  VG_GRID_STRIDE(i, rows * cols) {
    const int64_t r = i / cols, c = i % cols;
    dst[r * dst_ld + dst_off + c] = src[r * src_ld + src_off + c];
  }
}

// Columns K .. ld-1 (the padding of the 16-bit GEMM operand) are zero.
__global__ void patch_im2col_kernel(const float* __restrict__ im, int64_t S, int64_t H, int64_t W, int p,
                                    float* __restrict__ out, int64_t ld) {
  const int64_t pw = W / p, ph = H / p, K = 3 * p * p;
  VG_GRID_STRIDE(i, S * ph * pw * ld) {
    const int64_t row = i / ld, col = i % ld;
    if (col >= K) {
      out[i] = 0.0f;
      continue;
    }
    const int64_t s = row / (ph * pw), py = row / pw % ph, px = row % pw;
    const int ch = static_cast<int>(col / (p * p)), ky = static_cast<int>(col / p % p), kx = static_cast<int>(col % p);
    const float v = im[((s * 3 + ch) * H + py * p + ky) * W + px * p + kx];
    out[i] = (v - kResnetMean[ch]) / kResnetStd[ch];
  }
}

__global__ void dino_tokens_kernel(const float* patches, const float* cls, const float* reg, const float* pos,
                                   int64_t S, int64_t R, int64_t P, int64_t E, float* x) {
  const int64_t T = 1 + R + P;
  VG_GRID_STRIDE(i, S * T * E) {
    const int64_t e = i % E, t = i / E % T, s = i / (E * T);
    float v;
    if (t == 0)
      v = cls[e] + pos[e];
    else if (t <= R)
      v = reg[(t - 1) * E + e];
    else
      v = patches[(s * P + t - 1 - R) * E + e] + pos[(t - R) * E + e];
    x[i] = v;
  }
}

__global__ void aggregator_tokens_kernel(const float* dino, int64_t dino_T, const float* camera, const float* reg,
                                         int64_t S, int64_t R, int64_t P, int64_t E, float* x) {
  const int64_t T = 1 + R + P;
  VG_GRID_STRIDE(i, S * T * E) {
    const int64_t e = i % E, t = i / E % T, s = i / (E * T), which = s > 0 ? 1 : 0;
    float v;
    if (t == 0)
      v = camera[which * E + e];
    else if (t <= R)
      v = reg[(which * R + t - 1) * E + e];
    else
      v = dino[(s * dino_T + t) * E + e];
    x[i] = v;
  }
}

__global__ void adaln_kernel(const float* normed, const float* tokens, const float* mod, int64_t S, int64_t D, float* x) {
  VG_GRID_STRIDE(i, S * D) {
    const int64_t s = i / D, d = i % D;
    const float* m = mod + s * 3 * D;
    x[i] = m[2 * D + d] * (normed[i] * (1.0f + m[D + d]) + m[d]) + tokens[i];
  }
}

__global__ void pose_update_kernel(float* pred, const float* delta, float* act, int64_t S, bool accumulate) {
  VG_GRID_STRIDE(i, S * 9) {
    const float v = accumulate ? pred[i] + delta[i] : delta[i];
    pred[i] = v;
    act[i] = (i % 9) >= 7 ? fmaxf(v, 0.0f) : v;
  }
}

__global__ void broadcast_rows_kernel(const float* v, int64_t S, int64_t C, float* out) {
  VG_GRID_STRIDE(i, S * C) out[i] = v[i % C];
}

__global__ void im2col_kernel(const float* __restrict__ x, int64_t H, int64_t W, int64_t C, int k, int stride, int pad,
                              float* __restrict__ out, int64_t Ho, int64_t Wo) {
  const int64_t K = static_cast<int64_t>(k) * k * C;
  VG_GRID_STRIDE(i, Ho * Wo * K) {
    const int64_t pix = i / K, col = i % K, c = col % C, kk = col / C;
    const int64_t oy = pix / Wo, ox = pix % Wo;
    const int64_t y = oy * stride - pad + kk / k, xx = ox * stride - pad + kk % k;
    out[i] = (y >= 0 && y < H && xx >= 0 && xx < W) ? x[(y * W + xx) * C + c] : 0.0f;
  }
}

// 16-bit im2col: one thread per 8 consecutive columns (same (ky, kx), 8 channels) when C % 8 == 0, so each
// thread reads 32 contiguous bytes and writes 16.

template <typename T>
__global__ void im2col16_vec8_kernel(const float* __restrict__ x, int64_t H, int64_t W, int64_t C, int k, int stride,
                                     int pad, T* __restrict__ out, int64_t Ho, int64_t Wo) {
  const int64_t K8 = static_cast<int64_t>(k) * k * C / 8;
  VG_GRID_STRIDE(i, Ho * Wo * K8) {
    const int64_t pix = i / K8, col = (i % K8) * 8, c = col % C, kk = col / C;
    const int64_t oy = pix / Wo, ox = pix % Wo;
    const int64_t y = oy * stride - pad + kk / k, xx = ox * stride - pad + kk % k;
    alignas(16) T v[8];
    if (y >= 0 && y < H && xx >= 0 && xx < W) {
      const float4* src = reinterpret_cast<const float4*>(x + (y * W + xx) * C + c);
      const float4 a = src[0], b = src[1];
      v[0] = from_f32<T>(a.x), v[1] = from_f32<T>(a.y), v[2] = from_f32<T>(a.z), v[3] = from_f32<T>(a.w);
      v[4] = from_f32<T>(b.x), v[5] = from_f32<T>(b.y), v[6] = from_f32<T>(b.z), v[7] = from_f32<T>(b.w);
    } else {
      for (int j = 0; j < 8; ++j) v[j] = from_f32<T>(0.0f);
    }
    *reinterpret_cast<uint4*>(out + pix * K8 * 8 + col) = *reinterpret_cast<const uint4*>(v);
  }
}

// Exact (erf) GELU of fp32 x written in 16 bit: the fc1 -> fc2 hand-off of the 16-bit path (autocast keeps it bf16).
template <typename T>
__global__ void gelu16_kernel(const float* __restrict__ x, T* __restrict__ y, int64_t n) {
  VG_GRID_STRIDE(i, n) {
    const float v = x[i];
    y[i] = from_f32<T>(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
  }
}

template <typename T>
__global__ void im2col16_kernel(const float* __restrict__ x, int64_t H, int64_t W, int64_t C, int k, int stride,
                                int pad, T* __restrict__ out, int64_t Ho, int64_t Wo) {
  const int64_t K = static_cast<int64_t>(k) * k * C;
  VG_GRID_STRIDE(i, Ho * Wo * K) {
    const int64_t pix = i / K, col = i % K, c = col % C, kk = col / C;
    const int64_t oy = pix / Wo, ox = pix % Wo;
    const int64_t y = oy * stride - pad + kk / k, xx = ox * stride - pad + kk % k;
    out[i] = from_f32<T>((y >= 0 && y < H && xx >= 0 && xx < W) ? x[(y * W + xx) * C + c] : 0.0f);
  }
}

__global__ void conv_transpose_scatter_kernel(const float* g, int64_t H, int64_t W, int64_t O, int k, const float* bias,
                                              float* out) {
  const int64_t Wk = W * k;
  VG_GRID_STRIDE(i, H * k * Wk * O) {
    const int64_t o = i % O, px = i / O, X = px % Wk, Y = px / Wk;
    const int64_t y = Y / k, ki = Y % k, xx = X / k, kj = X % k;
    out[i] = g[(y * W + xx) * (k * k * O) + (ki * k + kj) * O + o] + (bias ? bias[o] : 0.0f);
  }
}

// Source index as ATen's area_pixel_compute_source_index (float arithmetic).
__device__ __forceinline__ void src_index(int64_t d, int64_t in, float scale, bool align, int64_t& i0, int64_t& i1,
                                          float& l) {
  const float src = align ? scale * static_cast<float>(d) : fmaxf(scale * (static_cast<float>(d) + 0.5f) - 0.5f, 0.0f);
  int64_t a = static_cast<int64_t>(src);
  a = a < in - 1 ? a : in - 1;
  i0 = a;
  i1 = a + (a < in - 1 ? 1 : 0);
  l = src - static_cast<float>(a);
}

__global__ void bilinear_kernel(const float* __restrict__ x, int64_t H, int64_t W, int64_t C, int64_t Ho, int64_t Wo,
                                bool align, float sy, float sx, float* __restrict__ y) {
  VG_GRID_STRIDE(i, Ho * Wo * C) {
    const int64_t c = i % C, px = i / C, ox = px % Wo, oy = px / Wo;
    int64_t y0, y1, x0, x1;
    float ly, lx;
    src_index(oy, H, sy, align, y0, y1, ly);
    src_index(ox, W, sx, align, x0, x1, lx);
    const float a = x[(y0 * W + x0) * C + c], b = x[(y0 * W + x1) * C + c];
    const float d = x[(y1 * W + x0) * C + c], e = x[(y1 * W + x1) * C + c];
    y[i] = (1.0f - ly) * ((1.0f - lx) * a + lx * b) + ly * ((1.0f - lx) * d + lx * e);
  }
}

// heads/utils.py position_grid_to_embed on create_uv_grid: linspace in float32, sin / cos in double.
__device__ __forceinline__ double uv_coord(double span, int64_t n, int64_t i) {
  const double lo = -span * (n - 1) / n, hi = span * (n - 1) / n;
  return static_cast<float>(n > 1 ? lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(n - 1) : lo);
}

__global__ void uv_pos_embed_kernel(float* x, int64_t h, int64_t w, int64_t C, double aspect, double diag) {
  const int64_t q = C / 4;
  VG_GRID_STRIDE(i, h * w * 4 * q) {
    const int64_t ch = i % (4 * q), px = i / (4 * q), j = px % w, r = px / w, kq = ch % q, part = ch / q;
    const double omega = 1.0 / pow(100.0, static_cast<double>(kq) / static_cast<double>(q));
    const double a = part < 2 ? uv_coord(aspect / diag, w, j) * omega : uv_coord(1.0 / diag, h, r) * omega;
    const double v = (part % 2 == 0) ? sin(a) : cos(a);
    x[px * C + ch] += 0.1f * static_cast<float>(v);
  }
}

__global__ void head_activation_kernel(const float* out, int64_t HW, int channels, float* value, float* conf) {
  VG_GRID_STRIDE(p, HW) {
    const float* o = out + p * channels;
    if (channels == 2) {
      value[p] = expf(o[0]);
    } else {
      for (int c = 0; c < 3; ++c) {
        const float y = o[c];
        value[p * 3 + c] = (y > 0.0f ? 1.0f : y < 0.0f ? -1.0f : 0.0f) * expm1f(fabsf(y));
      }
    }
    conf[p] = 1.0f + expf(o[channels - 1]);
  }
}

__global__ void convert_kernel(const float* src, void* dst, int64_t n, bool bf16) {
  VG_GRID_STRIDE(i, n) {
    if (bf16)
      static_cast<__nv_bfloat16*>(dst)[i] = __float2bfloat16_rn(src[i]);
    else
      static_cast<__half*>(dst)[i] = __float2half_rn(src[i]);
  }
}

}  // namespace


void convert_weights(const float* src, void* dst, int64_t n, Precision p) {
  VG_CHECK(p != Precision::F32, "convert_weights: target must be a 16-bit precision");
  VG_LAUNCH(convert_kernel, n, src, dst, n, p == Precision::BF16);
}

void layer_norm(const float* x, float* y, int64_t rows, int64_t C, const float* w, const float* b, float eps) {
  if (rows == 0) return;
  layer_norm_kernel<<<grid_for(rows, 8), 256>>>(x, y, rows, C, w, b, eps);
  VG_CUDA_CHECK_LAUNCH();
}
void relu(const float* x, float* y, int64_t n) { VG_LAUNCH(relu_kernel, n, x, y, n); }
void silu(const float* x, float* y, int64_t n) { VG_LAUNCH(silu_kernel, n, x, y, n); }
void add(const float* a, const float* b, float* y, int64_t n) { VG_LAUNCH(add_kernel, n, a, b, y, n); }
void copy_rows(const float* src, int64_t src_ld, int64_t src_off, float* dst, int64_t dst_ld, int64_t dst_off,
               int64_t rows, int64_t cols) {
  VG_LAUNCH(copy_rows_kernel, rows * cols, src, src_ld, src_off, dst, dst_ld, dst_off, rows, cols);
}
void patch_im2col(const float* images, int64_t S, int64_t H, int64_t W, int p, float* out, int64_t ld) {
  VG_CHECK(ld >= 3 * p * p, "patch_im2col: row stride ", ld, " < ", 3 * p * p);
  VG_LAUNCH(patch_im2col_kernel, S * (H / p) * (W / p) * ld, images, S, H, W, p, out, ld);
}
void dino_tokens(const float* patches, const float* cls, const float* reg, const float* pos, int64_t S, int64_t R,
                 int64_t P, int64_t E, float* x) {
  VG_LAUNCH(dino_tokens_kernel, S * (1 + R + P) * E, patches, cls, reg, pos, S, R, P, E, x);
}
void aggregator_tokens(const float* dino_normed, int64_t dino_T, const float* camera, const float* reg, int64_t S,
                       int64_t R, int64_t P, int64_t E, float* x) {
  VG_LAUNCH(aggregator_tokens_kernel, S * (1 + R + P) * E, dino_normed, dino_T, camera, reg, S, R, P, E, x);
}
void adaln_modulate(const float* normed, const float* tokens, const float* mod, int64_t S, int64_t D, float* x) {
  VG_LAUNCH(adaln_kernel, S * D, normed, tokens, mod, S, D, x);
}
void pose_update(float* pred, const float* delta, float* act, int64_t S, bool accumulate) {
  VG_LAUNCH(pose_update_kernel, S * 9, pred, delta, act, S, accumulate);
}
void broadcast_rows(const float* v, int64_t S, int64_t C, float* out) { VG_LAUNCH(broadcast_rows_kernel, S * C, v, S, C, out); }
void im2col(const float* x, int64_t H, int64_t W, int64_t C, int k, int stride, int pad, float* out, int64_t Ho,
            int64_t Wo) {
  VG_LAUNCH(im2col_kernel, Ho * Wo * k * k * C, x, H, W, C, k, stride, pad, out, Ho, Wo);
}
void gelu16(const float* x, void* y, int64_t n, Precision p) {
  VG_CHECK(p != Precision::F32, "gelu16: a 16-bit precision is needed");
  if (p == Precision::BF16) VG_LAUNCH(gelu16_kernel<__nv_bfloat16>, n, x, static_cast<__nv_bfloat16*>(y), n);
  else VG_LAUNCH(gelu16_kernel<__half>, n, x, static_cast<__half*>(y), n);
}
void im2col16(const float* x, int64_t H, int64_t W, int64_t C, int k, int stride, int pad, void* out, int64_t Ho,
              int64_t Wo, Precision p) {
  VG_CHECK(p != Precision::F32, "im2col16: a 16-bit precision is needed");
  const bool vec = C % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  const int64_t n = Ho * Wo * k * k * C / (vec ? 8 : 1);
  if (p == Precision::BF16) {
    if (vec) VG_LAUNCH(im2col16_vec8_kernel<__nv_bfloat16>, n, x, H, W, C, k, stride, pad, static_cast<__nv_bfloat16*>(out), Ho, Wo);
    else VG_LAUNCH(im2col16_kernel<__nv_bfloat16>, n, x, H, W, C, k, stride, pad, static_cast<__nv_bfloat16*>(out), Ho, Wo);
  } else {
    if (vec) VG_LAUNCH(im2col16_vec8_kernel<__half>, n, x, H, W, C, k, stride, pad, static_cast<__half*>(out), Ho, Wo);
    else VG_LAUNCH(im2col16_kernel<__half>, n, x, H, W, C, k, stride, pad, static_cast<__half*>(out), Ho, Wo);
  }
}
void conv_transpose_scatter(const float* g, int64_t H, int64_t W, int64_t Cout, int k, const float* bias, float* out) {
  VG_LAUNCH(conv_transpose_scatter_kernel, H * W * k * k * Cout, g, H, W, Cout, k, bias, out);
}
void bilinear(const float* x, int64_t H, int64_t W, int64_t C, int64_t Ho, int64_t Wo, bool align_corners, float* y) {
  auto scale = [&](int64_t in, int64_t out) {
    return align_corners ? (out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f)
                         : static_cast<float>(in) / static_cast<float>(out);
  };
  VG_LAUNCH(bilinear_kernel, Ho * Wo * C, x, H, W, C, Ho, Wo, align_corners, scale(H, Ho), scale(W, Wo), y);
}
void add_uv_pos_embed(float* x, int64_t h, int64_t w, int64_t C, int64_t W_img, int64_t H_img) {
  const double aspect = static_cast<double>(W_img) / static_cast<double>(H_img);
  const double diag = std::sqrt(aspect * aspect + 1.0);
  VG_LAUNCH(uv_pos_embed_kernel, h * w * (C / 4) * 4, x, h, w, C, aspect, diag);
}
void head_activation(const float* out, int64_t HW, int channels, float* value, float* conf) {
  VG_LAUNCH(head_activation_kernel, HW, out, HW, channels, value, conf);
}

}  // namespace vg::vggt::cuda
