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
