// DefaultStrategy's per-Gaussian CUDA kernels: gradient-statistics accumulation and refine flags.
// One thread per Gaussian and one camera per call, so no two threads touch the same entry.
#include "core/cuda_check.h"
#include "splat/strategy_kernels.h"

namespace vg::detail {
namespace {

constexpr int kBlock = 256;

__global__ void accumulate_kernel(const float* __restrict__ v_means2d, const int32_t* __restrict__ radii, int64_t n,
                                  float sx, float sy, float* __restrict__ grad2d, float* __restrict__ count) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) accumulate_one(i, v_means2d, radii, sx, sy, grad2d, count);
}

__global__ void refine_flags_kernel(const float* __restrict__ grad2d, const float* __restrict__ count,
                                    const float* __restrict__ scales, const float* __restrict__ opacities, int64_t n,
                                    RefineThresholds t, uint8_t* __restrict__ flags) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) flags[i] = refine_flags_one(i, grad2d, count, scales, opacities, t);
}

}  // namespace

void accumulate_grad2d_cuda(const float* v_means2d, const int32_t* radii, int64_t n, float sx, float sy,
                            float* grad2d, float* count) {
  if (n == 0) return;
  accumulate_kernel<<<grid_for(n, kBlock), kBlock>>>(v_means2d, radii, n, sx, sy, grad2d, count);
  VG_CUDA_CHECK_LAUNCH();
}

void refine_flags_cuda(const float* grad2d, const float* count, const float* scales, const float* opacities,
                       int64_t n, const RefineThresholds& t, uint8_t* flags) {
  if (n == 0) return;
  refine_flags_kernel<<<grid_for(n, kBlock), kBlock>>>(grad2d, count, scales, opacities, n, t, flags);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace vg::detail
