// CUDA error checking for .cu files: every runtime call and every launch is checked, and the
// failure becomes a vg::Error naming the call site.
#pragma once
#include <cuda_runtime.h>

#include "core/error.h"

#define VG_CUDA_CHECK(expr)                                                                  \
  do {                                                                                       \
    cudaError_t _e = (expr);                                                                 \
    if (_e != cudaSuccess)                                                                   \
      throw ::vg::Error(::vg::detail::concat("CUDA error ", cudaGetErrorName(_e), " (",     \
                                             cudaGetErrorString(_e), ") at ", __FILE__, ":", \
                                             __LINE__, ": " #expr));                         \
  } while (0)

// After a kernel launch: catches bad launch configurations without synchronising.
#define VG_CUDA_CHECK_LAUNCH() VG_CUDA_CHECK(cudaGetLastError())

namespace vg {
// Blocks per grid for n threads of `block` each.
inline unsigned grid_for(long long n, int block) { return static_cast<unsigned>((n + block - 1) / block); }
}  // namespace vg
