// Kernels of the tracker's fine stage (cuda_tracker_kernels.h): patch extraction, the fine queries and the
// patch-relative predictions put back into image pixels, as tracker_refine.cc computes them.
#include <cstdint>

#include "core/cuda_check.h"
#include "core/cuda_launch.cuh"
#include "tracks/cuda_tracker_kernels.h"

namespace vg::tracks::cuda::detail {

namespace {

constexpr int kBlock = 256;



// floor(v) - pr as an integer pixel (the unclamped patch corner).
__device__ __forceinline__ int64_t corner(float v, int pr) { return static_cast<int64_t>(floorf(v)) - pr; }

__device__ __forceinline__ int64_t clamp_corner(int64_t v, int64_t hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

__global__ void extract_patches_kernel(const float* __restrict__ img, int64_t S, int64_t H, int64_t W,
                                       const float* __restrict__ coarse, int64_t N, int64_t n0, int64_t nc, int pr,
                                       float* __restrict__ out) {
  const int64_t P = 2 * pr + 1;
  VG_GRID_STRIDE(i, nc * S * P * P * 3) {
    const int64_t c = i % 3, px = i / 3, x = px % P, y = px / P % P, bs = px / (P * P), s = bs % S, n = n0 + bs / S;
    const float* q = coarse + (s * N + n) * 2;
    const int64_t tx = clamp_corner(corner(q[0], pr), H - P), ty = clamp_corner(corner(q[1], pr), H - P);
    out[i] = img[((s * 3 + c) * H + ty + y) * W + tx + x];
  }
}

__global__ void fine_queries_kernel(const float* __restrict__ coarse, int64_t n0, int64_t nc, int pr,
                                    float* __restrict__ q) {
  VG_GRID_STRIDE(i, nc * 2) {
    const float v = coarse[n0 * 2 + i];  // frame 0, track n0 + i / 2, axis i % 2
    q[i] = __fadd_rn(__fsub_rn(v, static_cast<float>(static_cast<int32_t>(floorf(v)))), static_cast<float>(pr));
  }
}

__global__ void fine_tracks_kernel(const float* __restrict__ coarse, const float* __restrict__ last, int64_t S,
                                   int64_t N, int64_t n0, int64_t nc, int pr, float* __restrict__ out) {
  VG_GRID_STRIDE(i, S * nc * 2) {
    const int64_t k = i % 2, t = i / 2 % nc, s = i / (2 * nc), o = (s * N + n0 + t) * 2 + k;
    out[o] = s == 0 ? coarse[o] : __fadd_rn(last[(t * S + s) * 2 + k], static_cast<float>(corner(coarse[o], pr)));
  }
}

}  // namespace


void extract_patches(const float* images, int64_t S, int64_t H, int64_t W, const float* coarse, int64_t N, int64_t n0,
                     int64_t nc, int pr, float* out) {
  const int64_t P = 2 * pr + 1;
  VG_LAUNCH(extract_patches_kernel, nc * S * P * P * 3, images, S, H, W, coarse, N, n0, nc, pr, out);
}

void fine_queries(const float* coarse, int64_t N, int64_t n0, int64_t nc, int pr, float* q) {
  VG_LAUNCH(fine_queries_kernel, nc * 2, coarse, n0, nc, pr, q);
}

void fine_tracks(const float* coarse, const float* last, int64_t S, int64_t N, int64_t n0, int64_t nc, int pr,
                 float* out) {
  VG_LAUNCH(fine_tracks_kernel, S * nc * 2, coarse, last, S, N, n0, nc, pr, out);
}

}  // namespace vg::tracks::cuda::detail
