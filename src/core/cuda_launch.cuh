// One-dimensional grid-stride kernels, shared by the elementwise / gather kernels of every CUDA family: the loop
// over i < n, the grid size (256-thread blocks, at most 2^20 blocks: the loop covers the rest) and a checked launch
// that skips empty work. C++17-clean: included by .cu files only.
#pragma once
#include <cstdint>

#include "core/cuda_check.h"

namespace vg {

constexpr int kLaunchBlock = 256;
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kLaunchBlock - 1) / kLaunchBlock;
  return static_cast<unsigned>(b < 1 ? 1 : (b < (1 << 20) ? b : (1 << 20)));
}

// The sum of v over a warp, complete on lane 0.
__device__ __forceinline__ float warp_sum_lane0(float v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;
}

// atomicAdd(out, the sum of v over a kLaunchBlock-thread block): warp shuffles, then one atomic per block (so only
// the last bits of *out depend on the order of the blocks). Every thread of the block must call it.
__device__ __forceinline__ void block_sum_atomic_add(float v, float* out) {
  __shared__ float warp_sums[kLaunchBlock / 32];
  v = warp_sum_lane0(v);
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    float block = 0.0f;
    for (int w = 0; w < kLaunchBlock / 32; ++w) block += warp_sums[w];
    atomicAdd(out, block);
  }
}

}  // namespace vg

#define VG_GRID_STRIDE(i, n)                                                                       \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);           \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

#define VG_LAUNCH(kernel, n, ...)                                          \
  do {                                                                     \
    if ((n) > 0) {                                                         \
      kernel<<<::vg::blocks_for(n), ::vg::kLaunchBlock>>>(__VA_ARGS__);    \
      VG_CUDA_CHECK_LAUNCH();                                              \
    }                                                                      \
  } while (0)
