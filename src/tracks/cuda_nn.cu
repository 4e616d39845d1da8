// Kernels of the track-source CNN layer (tracks/cuda_nn.h) on batched NHWC maps: batch-aware im2col (fp32 or
// 16-bit), instance norm with double statistics, eval batch norm, bilinear resize, max pooling and layout changes.
// Arithmetic mirrors the CPU references (tracks/nn_ops.cc, vggt/cpu_ops.cc, metrics/conv2d.cc) with explicitly
// rounded fp32 operations, so --use_fast_math neither contracts nor approximates them.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "core/error.h"
#include "tracks/cuda_nn_kernels.h"
#include "vggt/cuda_convert.cuh"

namespace vg::tracks::cuda::detail {

namespace {

using vggt::cuda::from_f32;
using vggt::cuda::Precision;

constexpr int kBlock = 256;
constexpr int64_t kNormChunk = 2048;  // pixels per instance-norm partial sum
constexpr int kNormRows = 8;          // pixel lanes per instance-norm block (x 32 channels)



template <typename T>
__global__ void im2col_rows_kernel(const float* __restrict__ x, int64_t H, int64_t W, int64_t C, int k, int stride,
                                   int pad, int64_t Ho, int64_t Wo, int64_t row0, int64_t rows, T* __restrict__ out) {
  const int64_t K = static_cast<int64_t>(k) * k * C;
  VG_GRID_STRIDE(i, rows * K) {
    const int64_t r = row0 + i / K, col = i % K, c = col % C, kk = col / C;
    const int64_t ox = r % Wo, oy = r / Wo % Ho, b = r / (Wo * Ho);
    const int64_t y = oy * stride - pad + kk / k, xx = ox * stride - pad + kk % k;
    const float v = (y >= 0 && y < H && xx >= 0 && xx < W) ? x[((b * H + y) * W + xx) * C + c] : 0.0f;
    out[i] = from_f32<T>(v);
  }
}

// Partial sums of x and x^2 (double) over one chunk of pixels for 32 channels: block (32, kNormRows), grid
// (B * nchunks, ceil(C / 32)). Writes psum / psq [(b * nchunks + chunk) * C + c].
__global__ void norm_partials_kernel(const float* __restrict__ x, int64_t HW, int64_t C, int64_t nchunks,
                                     double* __restrict__ psum, double* __restrict__ psq) {
  __shared__ double ss[kNormRows][32], sq[kNormRows][32];
  const int64_t bc = blockIdx.x, b = bc / nchunks, chunk = bc % nchunks;
  const int64_t c = static_cast<int64_t>(blockIdx.y) * 32 + threadIdx.x;
  const int64_t p0 = chunk * kNormChunk, p1 = p0 + kNormChunk < HW ? p0 + kNormChunk : HW;
  double s = 0.0, q = 0.0;
  if (c < C)
    for (int64_t p = p0 + threadIdx.y; p < p1; p += kNormRows) {
      const double v = x[(b * HW + p) * C + c];
      s += v;
      q += v * v;
    }
  ss[threadIdx.y][threadIdx.x] = s;
  sq[threadIdx.y][threadIdx.x] = q;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    for (int r = 1; r < kNormRows; ++r) s += ss[r][threadIdx.x], q += sq[r][threadIdx.x];
    psum[bc * C + c] = s;
    psq[bc * C + c] = q;
  }
}

// One thread per (b, c): mean and 1 / sqrt(biased var + eps) from the partial sums (nn_ops.cc's formula).
__global__ void norm_finalize_kernel(const double* psum, const double* psq, int64_t B, int64_t C, int64_t nchunks,
                                     int64_t HW, float eps, double* mean, double* inv) {
  VG_GRID_STRIDE(i, B * C) {
    const int64_t b = i / C, c = i % C;
    double s = 0.0, q = 0.0;
    for (int64_t k = 0; k < nchunks; ++k) s += psum[(b * nchunks + k) * C + c], q += psq[(b * nchunks + k) * C + c];
    const double n = static_cast<double>(HW), m = s / n;
    double var = q / n - m * m;
    var = var > 0.0 ? var : 0.0;
    mean[i] = m;
    inv[i] = 1.0 / sqrt(var + static_cast<double>(eps));
  }
}

__global__ void norm_apply_kernel(float* x, int64_t B, int64_t HW, int64_t C, const double* mean, const double* inv,
                                  bool relu) {
  VG_GRID_STRIDE(i, B * HW * C) {
    const int64_t c = i % C, b = i / (HW * C), s = b * C + c;
    float v = static_cast<float>((static_cast<double>(x[i]) - mean[s]) * inv[s]);
    if (relu) v = fmaxf(v, 0.0f);
    x[i] = v;
  }
}

__global__ void batch_norm_kernel(float* x, int64_t n, int64_t C, const float* w, const float* b, const float* mean,
                                  const float* var, float eps) {
  VG_GRID_STRIDE(i, n * C) {
    const int64_t c = i % C;
    const float scale = __fdiv_rn(w[c], __fsqrt_rn(__fadd_rn(var[c], eps)));
    const float shift = __fsub_rn(b[c], __fmul_rn(mean[c], scale));
    x[i] = __fadd_rn(__fmul_rn(x[i], scale), shift);
  }
}

// Source index as ATen's area_pixel_compute_source_index (float arithmetic, as vggt/cpu_ops.cc).
__device__ __forceinline__ void src_index(int64_t d, int64_t in, float scale, bool align, int64_t& i0, int64_t& i1,
                                          float& l) {
  const float fd = static_cast<float>(d);
  const float src = align ? __fmul_rn(scale, fd) : fmaxf(__fsub_rn(__fmul_rn(scale, __fadd_rn(fd, 0.5f)), 0.5f), 0.0f);
  int64_t a = static_cast<int64_t>(src);
  a = a < in - 1 ? a : in - 1;
  i0 = a;
  i1 = a + (a < in - 1 ? 1 : 0);
  l = __fsub_rn(src, static_cast<float>(a));
}

__device__ __forceinline__ float lerp2(float w0, float a, float w1, float b) {
  return __fadd_rn(__fmul_rn(w0, a), __fmul_rn(w1, b));
}

__global__ void bilinear_kernel(const float* __restrict__ x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t Ho,
                                int64_t Wo, bool align, float sy, float sx, float* __restrict__ y) {
  VG_GRID_STRIDE(i, B * Ho * Wo * C) {
    const int64_t c = i % C, px = i / C, ox = px % Wo, oy = px / Wo % Ho, b = px / (Wo * Ho);
    int64_t y0, y1, x0, x1;
    float ly, lx;
    src_index(oy, H, sy, align, y0, y1, ly);
    src_index(ox, W, sx, align, x0, x1, lx);
    const float* f = x + b * H * W * C;
    const float a = f[(y0 * W + x0) * C + c], e = f[(y0 * W + x1) * C + c];
    const float g = f[(y1 * W + x0) * C + c], h = f[(y1 * W + x1) * C + c];
    const float wx0 = __fsub_rn(1.0f, lx), wy0 = __fsub_rn(1.0f, ly);
    y[i] = lerp2(wy0, lerp2(wx0, a, lx, e), ly, lerp2(wx0, g, lx, h));
  }
}

__global__ void max_pool_kernel(const float* __restrict__ x, int64_t B, int64_t H, int64_t W, int64_t C, int k,
                                int stride, int pad, int64_t Ho, int64_t Wo, float* __restrict__ y) {
  VG_GRID_STRIDE(i, B * Ho * Wo * C) {
    const int64_t c = i % C, px = i / C, ox = px % Wo, oy = px / Wo % Ho, b = px / (Wo * Ho);
    const int64_t ys = oy * stride - pad, xs = ox * stride - pad;
    const int64_t ya = ys > 0 ? ys : 0, yb = ys + k < H ? ys + k : H;
    const int64_t xa = xs > 0 ? xs : 0, xb = xs + k < W ? xs + k : W;
    float m = -INFINITY;  // padding acts as -inf
    for (int64_t iy = ya; iy < yb && !isnan(m); ++iy)
      for (int64_t ix = xa; ix < xb; ++ix) {
        const float v = x[((b * H + iy) * W + ix) * C + c];
        if (v > m || isnan(v)) m = v;  // NaN propagates, as in torch
        if (isnan(m)) break;
      }
    y[i] = m;
  }
}

__global__ void nchw_to_nhwc_kernel(const float* __restrict__ x, int64_t B, int64_t C, int64_t HW,
                                    float* __restrict__ y) {
  VG_GRID_STRIDE(i, B * HW * C) {
    const int64_t c = i % C, px = i / C, hw = px % HW, b = px / HW;
    y[i] = x[(b * C + c) * HW + hw];
  }
}

__global__ void nhwc_to_nchw_kernel(const float* __restrict__ x, int64_t B, int64_t HW, int64_t C,
                                    float* __restrict__ y) {
  VG_GRID_STRIDE(i, B * C * HW) {
    const int64_t hw = i % HW, c = i / HW % C, b = i / (HW * C);
    y[i] = x[(b * HW + hw) * C + c];
  }
}

int64_t norm_chunks(int64_t HW) { return (HW + kNormChunk - 1) / kNormChunk; }

}  // namespace


void im2col_rows(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int k, int stride, int pad, int64_t Ho,
                 int64_t Wo, int64_t row0, int64_t rows, void* out, Precision p) {
  VG_CHECK(row0 >= 0 && row0 + rows <= B * Ho * Wo, "im2col_rows: rows ", row0, "+", rows, " outside ", B * Ho * Wo);
  const int64_t n = rows * k * k * C;
  if (p == Precision::F32)
    VG_LAUNCH(im2col_rows_kernel<float>, n, x, H, W, C, k, stride, pad, Ho, Wo, row0, rows,
                 static_cast<float*>(out));
  else if (p == Precision::BF16)
    VG_LAUNCH(im2col_rows_kernel<__nv_bfloat16>, n, x, H, W, C, k, stride, pad, Ho, Wo, row0, rows,
                 static_cast<__nv_bfloat16*>(out));
  else
    VG_LAUNCH(im2col_rows_kernel<__half>, n, x, H, W, C, k, stride, pad, Ho, Wo, row0, rows,
                 static_cast<__half*>(out));
}

int64_t instance_norm_scratch_bytes(int64_t B, int64_t HW, int64_t C) {
  return static_cast<int64_t>(sizeof(double)) * (2 * B * norm_chunks(HW) * C + 2 * B * C);
}

void instance_norm(float* x, int64_t B, int64_t HW, int64_t C, float eps, bool relu, void* scratch) {
  if (B * HW * C == 0) return;
  const int64_t nchunks = norm_chunks(HW);
  VG_CHECK(B * nchunks < (int64_t{1} << 31) && (C + 31) / 32 < 65536, "instance_norm: ", B, " maps of ", HW,
           " pixels and ", C, " channels exceed the launch grid");
  double* psum = static_cast<double*>(scratch);
  double* psq = psum + B * nchunks * C;
  double* mean = psq + B * nchunks * C;
  double* inv = mean + B * C;
  const dim3 grid(static_cast<unsigned>(B * nchunks), static_cast<unsigned>((C + 31) / 32)), block(32, kNormRows);
  norm_partials_kernel<<<grid, block>>>(x, HW, C, nchunks, psum, psq);
  VG_CUDA_CHECK_LAUNCH();
  VG_LAUNCH(norm_finalize_kernel, B * C, psum, psq, B, C, nchunks, HW, eps, mean, inv);
  VG_LAUNCH(norm_apply_kernel, B * HW * C, x, B, HW, C, mean, inv, relu);
}

void batch_norm(float* x, int64_t n, int64_t C, const float* w, const float* b, const float* mean, const float* var,
                float eps) {
  VG_LAUNCH(batch_norm_kernel, n * C, x, n, C, w, b, mean, var, eps);
}

void bilinear(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t Ho, int64_t Wo, bool align_corners,
              float sy, float sx, float* y) {
  VG_LAUNCH(bilinear_kernel, B * Ho * Wo * C, x, B, H, W, C, Ho, Wo, align_corners, sy, sx, y);
}

void max_pool(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int k, int stride, int pad, int64_t Ho,
              int64_t Wo, float* y) {
  VG_LAUNCH(max_pool_kernel, B * Ho * Wo * C, x, B, H, W, C, k, stride, pad, Ho, Wo, y);
}

void nchw_to_nhwc(const float* x, int64_t B, int64_t C, int64_t H, int64_t W, float* y) {
  VG_LAUNCH(nchw_to_nhwc_kernel, B * C * H * W, x, B, C, H * W, y);
}

void nhwc_to_nchw(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, float* y) {
  VG_LAUNCH(nhwc_to_nchw_kernel, B * C * H * W, x, B, H * W, C, y);
}

}  // namespace vg::tracks::cuda::detail
