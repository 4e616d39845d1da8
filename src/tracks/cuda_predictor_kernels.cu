// Track predictor kernels besides attention (track_modules/base_track_predictor.py, blocks.py::CorrBlock,
// utils.py embeddings): query init, the correlation pyramid, the transformer input row, token re-layouts for the
// space attention, and the coordinate / visibility heads. Sampling follows tracker_predictor.cc step by step; the
// build uses --use_fast_math, so every rounding that decides a sample position is spelled with _rn intrinsics.
#include <cmath>
#include <cstdint>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "core/error.h"
#include "tracks/cuda_predictor_kernels.h"

namespace vg::tracks::cuda {
namespace {

constexpr int kBlock = 256;


inline unsigned warp_blocks(int64_t rows, int warps) {
  return static_cast<unsigned>((rows + warps - 1) / warps);
}

// tracker_internal.h::grid_roundtrip: pixel -> grid_sample's [-1, 1] -> pixel, in fp32 as ATen rounds it.
__device__ __forceinline__ float grid_roundtrip(float p, int64_t size) {
  const float scale = static_cast<float>(2.0 / static_cast<double>(size - 1 > 1 ? size - 1 : 1));
  const float g = __fsub_rn(__fmul_rn(p, scale), 1.0f);
  return __fmul_rn(__fadd_rn(g, 1.0f), __fdiv_rn(static_cast<float>(size - 1), 2.0f));
}

// tracker_internal.h::bilinear_tap: corner (x0, y0) and the weights nw, ne, sw, se.
struct Tap {
  int64_t x0, y0;
  float wt[4];
};
__device__ __forceinline__ Tap bilinear_tap(float ix, float iy) {
  const float fx = floorf(ix), fy = floorf(iy);
  Tap t;
  t.x0 = static_cast<int64_t>(fx);
  t.y0 = static_cast<int64_t>(fy);
  const float w = __fsub_rn(ix, fx), e = __fsub_rn(1.0f, w), n = __fsub_rn(iy, fy), s = __fsub_rn(1.0f, n);
  t.wt[0] = __fmul_rn(s, e);
  t.wt[1] = __fmul_rn(s, w);
  t.wt[2] = __fmul_rn(n, e);
  t.wt[3] = __fmul_rn(n, w);
  return t;
}

// Tap of a pixel position on an H x W map (align_corners, border padding clamps).
__device__ __forceinline__ Tap pixel_tap(float x, float y, int64_t H, int64_t W, bool border) {
  float ix = grid_roundtrip(x, W), iy = grid_roundtrip(y, H);
  if (border) {
    ix = fminf(fmaxf(ix, 0.0f), static_cast<float>(W - 1));
    iy = fminf(fmaxf(iy, 0.0f), static_cast<float>(H - 1));
  }
  return bilinear_tap(ix, iy);
}

// get_2d_sincos_pos_embed(D) at grid node (py, px), channel k: [sin, cos](px omega) then [sin, cos](py omega), in
// double as the CPU SincosGrid, rounded to float.
__device__ __forceinline__ float sincos_embed(int64_t py, int64_t px, int64_t k, int64_t D) {
  const int64_t q = D / 4, half = k / (2 * q), within = k % (2 * q), kk = within < q ? within : within - q;
  const double omega = 1.0 / pow(10000.0, static_cast<double>(kk) / static_cast<double>(q));
  const double p = static_cast<double>(half == 0 ? px : py) * omega;
  return static_cast<float>(within < q ? sin(p) : cos(p));
}

// One warp per (b, n).
__global__ void init_queries_kernel(const float* __restrict__ query, const float* __restrict__ fmaps, int64_t B,
                                    int64_t N, int64_t S, int64_t H, int64_t W, int64_t C, int64_t D, float down_ratio,
                                    float stride, float* __restrict__ coords, float* __restrict__ feats,
                                    float* __restrict__ pos) {
  const int64_t bn = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (bn >= B * N) return;
  const int64_t b = bn / N;
  float qx = query[2 * bn], qy = query[2 * bn + 1];
  if (down_ratio > 1.0f) qx = __fdiv_rn(qx, down_ratio), qy = __fdiv_rn(qy, down_ratio);
  qx = __fdiv_rn(qx, stride), qy = __fdiv_rn(qy, stride);
  for (int64_t s = lane; s < S; s += 32) coords[(bn * S + s) * 2] = qx, coords[(bn * S + s) * 2 + 1] = qy;
  const Tap t = pixel_tap(qx, qy, H, W, true);
  const float* f0 = fmaps + b * S * H * W * C;  // frame 0 of batch element b
  for (int64_t c = lane; c < C; c += 32) {
    float acc = 0.0f;
    for (int k = 0; k < 4; ++k) {
      const int64_t px = t.x0 + (k & 1), py = t.y0 + (k >> 1);
      if (px >= 0 && px < W && py >= 0 && py < H) acc = __fadd_rn(acc, __fmul_rn(f0[(py * W + px) * C + c], t.wt[k]));
    }
    for (int64_t s = 0; s < S; ++s) feats[(bn * S + s) * C + c] = acc;
  }
  for (int64_t k = lane; k < D; k += 32) {
    float acc = 0.0f;
    for (int j = 0; j < 4; ++j) {
      const int64_t px = t.x0 + (j & 1), py = t.y0 + (j >> 1);
      if (px >= 0 && px < W && py >= 0 && py < H) acc = __fadd_rn(acc, __fmul_rn(t.wt[j], sincos_embed(py, px, k, D)));
    }
    pos[bn * D + k] = acc;
  }
}

__global__ void avg_pool2_kernel(const float* __restrict__ x, int64_t F, int64_t H, int64_t W, int64_t C,
                                 float* __restrict__ y) {
  const int64_t Ho = H / 2, Wo = W / 2;
  VG_GRID_STRIDE(i, F * Ho * Wo * C) {
    const int64_t c = i % C, px = i / C % Wo, py = i / (C * Wo) % Ho, f = i / (C * Wo * Ho);
    const float* p = x + ((f * H + 2 * py) * W + 2 * px) * C + c;
    y[i] = __fdiv_rn(__fadd_rn(__fadd_rn(__fadd_rn(p[0], p[C]), p[W * C]), p[W * C + C]), 4.0f);
  }
}

// <feat, map pixel> / sqrt(L) of one lane (feat in shared memory, the pixel row 16-byte aligned: L % 4 == 0).
__device__ __forceinline__ float pixel_corr(const float* feat, const float* px_row, int64_t L, float norm) {
  float acc = 0.0f;
  const float4* r4 = reinterpret_cast<const float4*>(px_row);
  for (int64_t c = 0; c < L / 4; ++c) {
    const float4 v = __ldg(r4 + c);
    acc = fmaf(feat[4 * c], v.x, acc);
    acc = fmaf(feat[4 * c + 1], v.y, acc);
    acc = fmaf(feat[4 * c + 2], v.z, acc);
    acc = fmaf(feat[4 * c + 3], v.w, acc);
  }
  return __fdiv_rn(acc, norm);
}

// One warp per row (b, n, s) of x; shared memory per warp: the track feature [L] and a (2r+4)^2 window of
// correlations around the level's position (every sample's corners fall inside it; others are computed directly).
__global__ void build_input_kernel(const float* __restrict__ coords, const float* __restrict__ feats,
                                   const float* __restrict__ pos, CorrPyramid pyr, int64_t B, int64_t N, int64_t S,
                                   int64_t L, int r, int64_t D, float* __restrict__ x) {
  extern __shared__ float smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int win = 2 * r + 4, taps = (2 * r + 1) * (2 * r + 1);
  float* feat = smem + warp * (L + win * win);
  float* cache = feat + L;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + warp;
  if (row >= B * N * S) return;
  const int64_t bn = row / S, s = row % S, b = bn / N;
  const float* pr = pos + bn * D;
  float* xr = x + row * D;
  for (int64_t c = lane; c < L; c += 32) feat[c] = feats[row * L + c];
  __syncwarp();
  const float cx0 = coords[row * 2], cy0 = coords[row * 2 + 1];
  const float fx = __fsub_rn(cx0, coords[bn * S * 2]), fy = __fsub_rn(cy0, coords[bn * S * 2 + 1]);
  // utils.py::get_2d_embedding(flow, L/2): interleaved sin / cos of x * k 1000/(L/2) (k even), then of y.
  const int64_t Ch = L / 2;
  const float step = static_cast<float>(1000.0 / static_cast<double>(Ch));
  for (int64_t k = lane; k < Ch / 2; k += 32) {
    const float div = __fmul_rn(static_cast<float>(2 * k), step);
    const double ax = __fmul_rn(fx, div), ay = __fmul_rn(fy, div);
    xr[2 * k] = __fadd_rn(static_cast<float>(sin(ax)), pr[2 * k]);
    xr[2 * k + 1] = __fadd_rn(static_cast<float>(cos(ax)), pr[2 * k + 1]);
    xr[Ch + 2 * k] = __fadd_rn(static_cast<float>(sin(ay)), pr[Ch + 2 * k]);
    xr[Ch + 2 * k + 1] = __fadd_rn(static_cast<float>(cos(ay)), pr[Ch + 2 * k + 1]);
  }
  if (lane == 0) xr[L] = __fadd_rn(fx, pr[L]), xr[L + 1] = __fadd_rn(fy, pr[L + 1]);
  const float norm = __fsqrt_rn(static_cast<float>(L));
  for (int l = 0; l < pyr.levels; ++l) {
    const int64_t H = pyr.h[l], W = pyr.w[l];
    const float* map = pyr.maps[l] + (b * S + s) * H * W * L;
    const float div = static_cast<float>(int64_t{1} << l);
    const float cx = __fdiv_rn(cx0, div), cy = __fdiv_rn(cy0, div);
    float* out = xr + L + 2 + static_cast<int64_t>(l) * taps;
    const float reach = static_cast<float>(r + 4);
    if (!(cx > -reach && cx < static_cast<float>(W) + reach && cy > -reach && cy < static_cast<float>(H) + reach)) {
      for (int t = lane; t < taps; t += 32) out[t] = __fadd_rn(0.0f, pr[L + 2 + l * taps + t]);  // all outside
      continue;
    }
    const int64_t bx = static_cast<int64_t>(floorf(cx)) - r - 1, by = static_cast<int64_t>(floorf(cy)) - r - 1;
    __syncwarp();
    for (int p = lane; p < win * win; p += 32) {
      const int64_t px = bx + p % win, py = by + p / win;
      cache[p] = px >= 0 && px < W && py >= 0 && py < H ? pixel_corr(feat, map + (py * W + px) * L, L, norm) : 0.0f;
    }
    __syncwarp();
    // The window [i][j]: x offset i - r, y offset j - r (sample_correlations' meshgrid order).
    for (int t = lane; t < taps; t += 32) {
      const int i = t / (2 * r + 1) - r, j = t % (2 * r + 1) - r;
      const Tap tp = pixel_tap(__fadd_rn(cx, static_cast<float>(i)), __fadd_rn(cy, static_cast<float>(j)), H, W, false);
      float v = 0.0f;
      for (int k = 0; k < 4; ++k) {
        const int64_t px = tp.x0 + (k & 1), py = tp.y0 + (k >> 1);
        if (px < 0 || px >= W || py < 0 || py >= H) continue;
        const int64_t wx = px - bx, wy = py - by;
        const float c = wx >= 0 && wx < win && wy >= 0 && wy < win ? cache[wy * win + wx]
                                                                   : pixel_corr(feat, map + (py * W + px) * L, L, norm);
        v = __fadd_rn(v, __fmul_rn(c, tp.wt[k]));
      }
      out[t] = __fadd_rn(v, pr[L + 2 + l * taps + t]);
    }
  }
  const int64_t f0 = L + 2 + static_cast<int64_t>(pyr.levels) * taps;
  for (int64_t c = lane; c < L; c += 32) xr[f0 + c] = __fadd_rn(feat[c], pr[f0 + c]);
  for (int64_t k = f0 + L + lane; k < D; k += 32) xr[k] = pr[k];  // zero padding + pos
}

__global__ void assemble_tokens_kernel(const float* __restrict__ init, const float* __restrict__ virt, int64_t B,
                                       int64_t N, int64_t V, int64_t S, int64_t E, float* __restrict__ tokens) {
  VG_GRID_STRIDE(i, B * (N + V) * S * E) {
    const int64_t e = i % E, s = i / E % S, bn = i / (E * S), n = bn % (N + V), b = bn / (N + V);
    tokens[i] = n < N ? init[((b * N + n) * S + s) * E + e] : virt[(n - N) * E + e];
  }
}

__global__ void space_split_kernel(float* tokens, float* points, float* virt, int64_t B, int64_t N, int64_t V,
                                   int64_t S, int64_t E, bool to_space) {
  VG_GRID_STRIDE(i, B * (N + V) * S * E) {
    const int64_t e = i % E, s = i / E % S, bn = i / (E * S), n = bn % (N + V), b = bn / (N + V);
    float* other = n < N ? points + ((b * S + s) * N + n) * E + e : virt + ((b * S + s) * V + (n - N)) * E + e;
    if (to_space)
      *other = tokens[i];
    else
      tokens[i] = *other;
  }
}

__global__ void real_plus_init_kernel(const float* __restrict__ tokens, const float* __restrict__ init, int64_t B,
                                      int64_t N, int64_t V, int64_t S, int64_t E, float* __restrict__ out) {
  VG_GRID_STRIDE(i, B * N * S * E) {
    const int64_t e = i % E, s = i / E % S, bn = i / (E * S), n = bn % N, b = bn / N;
    out[i] = __fadd_rn(tokens[((b * (N + V) + n) * S + s) * E + e], init[i]);
  }
}

__global__ void update_coords_kernel(float* coords, const float* __restrict__ delta, int64_t ld, int64_t B, int64_t N,
                                     int64_t S, float stride, float down_ratio, float* __restrict__ pred) {
  VG_GRID_STRIDE(i, B * N * S * 2) {
    const int64_t k = i % 2, row = i / 2, s = row % S, bn = row / S, n = bn % N, b = bn / N;
    float c = coords[i];
    if (s > 0) c = __fadd_rn(c, delta[row * ld + k]);  // frame 0 stays the query
    coords[i] = c;
    float v = __fmul_rn(c, stride);
    if (down_ratio > 1.0f) v = __fmul_rn(v, down_ratio);
    pred[((b * S + s) * N + n) * 2 + k] = v;
  }
}

// One warp per row.
__global__ void visibility_kernel(const float* __restrict__ feats, const float* __restrict__ w,
                                  const float* __restrict__ bias, int64_t B, int64_t N, int64_t S, int64_t L,
                                  float* __restrict__ vis) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= B * N * S) return;
  float acc = 0.0f;
  for (int64_t c = lane; c < L; c += 32) acc = fmaf(feats[row * L + c], w[c], acc);
  for (int o = 16; o > 0; o /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, o);
  if (lane != 0) return;
  const int64_t s = row % S, bn = row / S, n = bn % N, b = bn / N;
  vis[(b * S + s) * N + n] = 1.0f / (1.0f + expf(-(acc + bias[0])));
}

}  // namespace

void init_queries(const float* query, const float* fmaps, int64_t B, int64_t N, int64_t S, int64_t H, int64_t W,
                  int64_t C, int64_t D, float down_ratio, float stride, float* coords, float* feats, float* pos) {
  if (B * N == 0) return;
  init_queries_kernel<<<warp_blocks(B * N, 8), 256>>>(query, fmaps, B, N, S, H, W, C, D, down_ratio, stride, coords,
                                                     feats, pos);
  VG_CUDA_CHECK_LAUNCH();
}

void avg_pool2(const float* x, int64_t F, int64_t H, int64_t W, int64_t C, float* y) {
  const int64_t n = F * (H / 2) * (W / 2) * C;
  if (n == 0) return;
  avg_pool2_kernel<<<blocks_for(n), kBlock>>>(x, F, H, W, C, y);
  VG_CUDA_CHECK_LAUNCH();
}

void build_input(const float* coords, const float* feats, const float* pos, const CorrPyramid& pyr, int64_t B,
                 int64_t N, int64_t S, int64_t L, int r, int64_t D, float* x) {
  const int64_t rows = B * N * S;
  if (rows == 0) return;
  VG_CHECK(L % 4 == 0 && pyr.levels >= 1 && pyr.levels <= CorrPyramid::kMaxLevels, "track predictor input: L ", L,
           ", levels ", pyr.levels);
  constexpr int kWarps = 4;
  const int win = 2 * r + 4;
  const size_t smem = static_cast<size_t>(kWarps) * static_cast<size_t>(L + win * win) * sizeof(float);
  VG_CHECK(smem <= 48 * 1024, "track predictor input: latent ", L, " and radius ", r, " need too much shared memory");
  build_input_kernel<<<warp_blocks(rows, kWarps), kWarps * 32, smem>>>(coords, feats, pos, pyr, B, N, S, L, r, D, x);
  VG_CUDA_CHECK_LAUNCH();
}

void assemble_tokens(const float* init, const float* virt, int64_t B, int64_t N, int64_t V, int64_t S, int64_t E,
                     float* tokens) {
  const int64_t n = B * (N + V) * S * E;
  if (n == 0) return;
  assemble_tokens_kernel<<<blocks_for(n), kBlock>>>(init, virt, B, N, V, S, E, tokens);
  VG_CUDA_CHECK_LAUNCH();
}

void space_split(float* tokens, float* points, float* virt, int64_t B, int64_t N, int64_t V, int64_t S, int64_t E,
                 bool to_space) {
  const int64_t n = B * (N + V) * S * E;
  if (n == 0) return;
  space_split_kernel<<<blocks_for(n), kBlock>>>(tokens, points, virt, B, N, V, S, E, to_space);
  VG_CUDA_CHECK_LAUNCH();
}

void real_plus_init(const float* tokens, const float* init, int64_t B, int64_t N, int64_t V, int64_t S, int64_t E,
                    float* out) {
  const int64_t n = B * N * S * E;
  if (n == 0) return;
  real_plus_init_kernel<<<blocks_for(n), kBlock>>>(tokens, init, B, N, V, S, E, out);
  VG_CUDA_CHECK_LAUNCH();
}

void update_coords(float* coords, const float* delta, int64_t ld, int64_t B, int64_t N, int64_t S, float stride,
                   float down_ratio, float* pred) {
  const int64_t n = B * N * S * 2;
  if (n == 0) return;
  update_coords_kernel<<<blocks_for(n), kBlock>>>(coords, delta, ld, B, N, S, stride, down_ratio, pred);
  VG_CUDA_CHECK_LAUNCH();
}

void visibility(const float* feats, const float* w, const float* b, int64_t B, int64_t N, int64_t S, int64_t L,
                float* vis) {
  const int64_t rows = B * N * S;
  if (rows == 0) return;
  visibility_kernel<<<warp_blocks(rows, 8), 256>>>(feats, w, b, B, N, S, L, vis);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace vg::tracks::cuda
