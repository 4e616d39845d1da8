// Fused CUDA kernels for the training loss (1 - lambda) * L1 + lambda * (1 - SSIM); the math and
// the backward derivation are in loss_cpu.cc (the double-precision reference).
//
// Both kernels work on 16x16 output tiles: each block stages a 26x26 tile (5 px halo, zero outside
// the image) of one channel in shared memory and applies the separable 11-tap Gaussian as a
// horizontal pass into shared memory followed by a vertical pass.
//   forward:  G*{x, y, x^2, y^2, xy} -> SSIM map, its partials dL/d{mu_x, s_xx, s_xy} (scratch),
//             block sums of the map (interior only) and of |x - y| -> atomicAdd into 2 doubles.
//   backward: G*{dL/dmu_x, dL/ds_xx, dL/ds_xy} -> dL/dx = G*dmu + 2x G*dsxx + y G*dsxy + L1 term.
//   finalize: one thread turns the sums into loss, l1, ssim.
#include <cmath>

#include "core/cuda_check.h"

namespace vg::detail {
namespace {

constexpr int kR = 5;                 // window radius
constexpr int kTaps = 2 * kR + 1;     // 11
constexpr int kTile = 16;             // output tile side
constexpr int kIn = kTile + 2 * kR;   // staged tile side, 26
constexpr int kThreads = kTile * kTile;
constexpr float kC1 = 0.01f * 0.01f;
constexpr float kC2 = 0.03f * 0.03f;

struct Window {
  float w[kTaps];
};

Window make_window() {
  double w[kTaps], sum = 0;
  for (int i = 0; i < kTaps; ++i) {
    double d = i - kR;
    w[i] = std::exp(-d * d / (2.0 * 1.5 * 1.5));
    sum += w[i];
  }
  Window win;
  for (int i = 0; i < kTaps; ++i) win.w[i] = static_cast<float>(w[i] / sum);
  return win;
}

// Stages channel `ch` of the HWC image `img` for the tile at (r0, c0) with its halo; zero outside.
__device__ void stage_tile(const float* img, int H, int W, int ch, int r0, int c0, float (*tile)[kIn]) {
  for (int idx = threadIdx.y * kTile + threadIdx.x; idx < kIn * kIn; idx += kThreads) {
    int rr = idx / kIn, cc = idx % kIn;
    int gr = r0 - kR + rr, gc = c0 - kR + cc;
    bool inside = gr >= 0 && gr < H && gc >= 0 && gc < W;
    tile[rr][cc] = inside ? img[(static_cast<long long>(gr) * W + gc) * 3 + ch] : 0.f;
  }
}

// Block-wide sum of `v` (all kThreads threads call it); thread 0 gets the total.
__device__ double block_sum(double v, double* warp_sums) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  int tid = threadIdx.y * kTile + threadIdx.x;
  if ((tid & 31) == 0) warp_sums[tid >> 5] = v;
  __syncthreads();
  double total = 0;
  if (tid == 0)
    for (int i = 0; i < kThreads / 32; ++i) total += warp_sums[i];
  return total;
}

__global__ void ssim_forward_kernel(const float* __restrict__ render, const float* __restrict__ gt, int H, int W,
                                    Window win, float scale, float* __restrict__ d_mu, float* __restrict__ d_sxx,
                                    float* __restrict__ d_sxy, double* __restrict__ accum) {
  __shared__ float sx[kIn][kIn], sy[kIn][kIn];
  __shared__ float hs[5][kIn][kTile];  // horizontal sums of x, y, x^2, y^2, xy
  __shared__ double warp_sums[kThreads / 32];
  const int r0 = blockIdx.y * kTile, c0 = blockIdx.x * kTile;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTile + tx;
  const int r = r0 + ty, c = c0 + tx;
  const bool in_image = r < H && c < W;
  const bool interior = r >= kR && r < H - kR && c >= kR && c < W - kR;  // fused-ssim "valid" crop
  float ssim_sum = 0.f, l1_sum = 0.f;

  for (int ch = 0; ch < 3; ++ch) {
    __syncthreads();  // previous channel done with the shared tiles
    stage_tile(render, H, W, ch, r0, c0, sx);
    stage_tile(gt, H, W, ch, r0, c0, sy);
    __syncthreads();
    for (int idx = tid; idx < kIn * kTile; idx += kThreads) {
      int rr = idx / kTile, cc = idx % kTile;
      float m1 = 0.f, m2 = 0.f, e11 = 0.f, e22 = 0.f, e12 = 0.f;
#pragma unroll
      for (int k = 0; k < kTaps; ++k) {
        float a = sx[rr][cc + k], b = sy[rr][cc + k], w = win.w[k];
        m1 += w * a;
        m2 += w * b;
        e11 += w * a * a;
        e22 += w * b * b;
        e12 += w * a * b;
      }
      hs[0][rr][cc] = m1;
      hs[1][rr][cc] = m2;
      hs[2][rr][cc] = e11;
      hs[3][rr][cc] = e22;
      hs[4][rr][cc] = e12;
    }
    __syncthreads();
    if (!in_image) continue;  // no further __syncthreads in this iteration
    float mux = 0.f, muy = 0.f, exx = 0.f, eyy = 0.f, exy = 0.f;
#pragma unroll
    for (int k = 0; k < kTaps; ++k) {
      float w = win.w[k];
      mux += w * hs[0][ty + k][tx];
      muy += w * hs[1][ty + k][tx];
      exx += w * hs[2][ty + k][tx];
      eyy += w * hs[3][ty + k][tx];
      exy += w * hs[4][ty + k][tx];
    }
    l1_sum += fabsf(sx[ty + kR][tx + kR] - sy[ty + kR][tx + kR]);
    const long long o = (static_cast<long long>(r) * W + c) * 3 + ch;
    if (!interior) {
      d_mu[o] = 0.f;
      d_sxx[o] = 0.f;
      d_sxy[o] = 0.f;
      continue;
    }
    // SSIM map (Wang et al. 2004, eq. 13) and its partials, as in loss_cpu.cc.
    float sxx = exx - mux * mux, syy = eyy - muy * muy, sxy = exy - mux * muy;
    float a1 = 2.f * mux * muy + kC1, a2 = 2.f * sxy + kC2;
    float b1 = mux * mux + muy * muy + kC1, b2 = sxx + syy + kC2;
    float s = a1 * a2 / (b1 * b2);
    ssim_sum += s;
    float ds_dmu = a2 / b2 * 2.f * (muy * b1 - mux * a1) / (b1 * b1);
    float ds_dsxx = -s / b2;
    float ds_dsxy = 2.f * a1 / (b1 * b2);
    d_mu[o] = scale * (ds_dmu - 2.f * mux * ds_dsxx - muy * ds_dsxy);
    d_sxx[o] = scale * ds_dsxx;
    d_sxy[o] = scale * ds_dsxy;
  }

  double ssim_total = block_sum(ssim_sum, warp_sums);
  __syncthreads();  // warp_sums reused
  double l1_total = block_sum(l1_sum, warp_sums);
  if (tid == 0) {
    atomicAdd(&accum[0], ssim_total);
    atomicAdd(&accum[1], l1_total);
  }
}

__global__ void ssim_backward_kernel(const float* __restrict__ render, const float* __restrict__ gt, int H, int W,
                                     Window win, float l1_scale, const float* __restrict__ d_mu,
                                     const float* __restrict__ d_sxx, const float* __restrict__ d_sxy,
                                     float* __restrict__ v_render) {
  __shared__ float sp[3][kIn][kIn];    // partial maps dL/d{mu_x, s_xx, s_xy}
  __shared__ float hs[3][kIn][kTile];  // their horizontal sums
  const int r0 = blockIdx.y * kTile, c0 = blockIdx.x * kTile;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTile + tx;
  const int r = r0 + ty, c = c0 + tx;
  const bool in_image = r < H && c < W;

  for (int ch = 0; ch < 3; ++ch) {
    __syncthreads();
    stage_tile(d_mu, H, W, ch, r0, c0, sp[0]);
    stage_tile(d_sxx, H, W, ch, r0, c0, sp[1]);
    stage_tile(d_sxy, H, W, ch, r0, c0, sp[2]);
    __syncthreads();
    // Correlation with G (the transpose of the forward filter); G is symmetric.
    for (int idx = tid; idx < kIn * kTile; idx += kThreads) {
      int rr = idx / kTile, cc = idx % kTile;
      float g0 = 0.f, g1 = 0.f, g2 = 0.f;
#pragma unroll
      for (int k = 0; k < kTaps; ++k) {
        float w = win.w[k];
        g0 += w * sp[0][rr][cc + k];
        g1 += w * sp[1][rr][cc + k];
        g2 += w * sp[2][rr][cc + k];
      }
      hs[0][rr][cc] = g0;
      hs[1][rr][cc] = g1;
      hs[2][rr][cc] = g2;
    }
    __syncthreads();
    if (!in_image) continue;
    float g_mu = 0.f, g_sxx = 0.f, g_sxy = 0.f;
#pragma unroll
    for (int k = 0; k < kTaps; ++k) {
      float w = win.w[k];
      g_mu += w * hs[0][ty + k][tx];
      g_sxx += w * hs[1][ty + k][tx];
      g_sxy += w * hs[2][ty + k][tx];
    }
    const long long o = (static_cast<long long>(r) * W + c) * 3 + ch;
    float x = render[o], y = gt[o], d = x - y;
    float sign = static_cast<float>((d > 0.f) - (d < 0.f));  // 0 at equality, as torch
    v_render[o] = g_mu + 2.f * x * g_sxx + y * g_sxy + l1_scale * sign;
  }
}

__global__ void loss_finalize_kernel(const double* __restrict__ accum, double n_all, double n_valid, double lambda,
                                     float* loss, float* l1, float* ssim) {
  double l1_mean = accum[1] / n_all, ssim_mean = accum[0] / n_valid;
  *l1 = static_cast<float>(l1_mean);
  *ssim = static_cast<float>(ssim_mean);
  *loss = static_cast<float>((1.0 - lambda) * l1_mean + lambda * (1.0 - ssim_mean));
}

}  // namespace

void photometric_loss_cuda(const float* render, const float* gt, int H, int W, float lambda, float* loss,
                           float* l1, float* ssim, float* v_render, float* scratch, double* accum) {
  const long long n = static_cast<long long>(H) * W * 3;
  const double n_all = static_cast<double>(n);
  const double n_valid = 3.0 * (H - 2 * kR) * static_cast<double>(W - 2 * kR);
  const Window win = make_window();
  float* d_mu = scratch;
  float* d_sxx = scratch + n;
  float* d_sxy = scratch + 2 * n;
  const dim3 block(kTile, kTile);
  const dim3 grid(grid_for(W, kTile), grid_for(H, kTile));

  VG_CUDA_CHECK(cudaMemsetAsync(accum, 0, 2 * sizeof(double), 0));
  const float scale = static_cast<float>(-static_cast<double>(lambda) / n_valid);  // d loss / d S(p)
  ssim_forward_kernel<<<grid, block>>>(render, gt, H, W, win, scale, d_mu, d_sxx, d_sxy, accum);
  VG_CUDA_CHECK_LAUNCH();
  const float l1_scale = static_cast<float>((1.0 - lambda) / n_all);
  ssim_backward_kernel<<<grid, block>>>(render, gt, H, W, win, l1_scale, d_mu, d_sxx, d_sxy, v_render);
  VG_CUDA_CHECK_LAUNCH();
  loss_finalize_kernel<<<1, 1>>>(accum, n_all, n_valid, lambda, loss, l1, ssim);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace vg::detail
