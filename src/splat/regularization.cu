// The opacity / scale regularisers on CUDA: one thread per Gaussian adds its gradients; the loss is summed per
// block (warp shuffles) and atomically added to one float (only its last bits depend on the block order).
#include "core/cuda_launch.cuh"
#include "splat/regularization_kernels.h"

namespace vg::detail {
namespace {

__global__ void reg_kernel(int64_t n, const float* __restrict__ opacities, const float* __restrict__ scales, float wo,
                           float ws, float* __restrict__ v_opacities, float* __restrict__ v_scales,
                           float* __restrict__ loss) {
  __shared__ float warp_sums[kLaunchBlock / 32];
  float sum = 0.0f;
  VG_GRID_STRIDE(i, n) sum += reg_row(i, opacities, scales, wo, ws, v_opacities, v_scales);
  for (int off = 16; off > 0; off >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, off);
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    float block = 0.0f;
    for (int w = 0; w < kLaunchBlock / 32; ++w) block += warp_sums[w];
    atomicAdd(loss, block);
  }
}

}  // namespace

void opacity_scale_reg_cuda(int64_t n, const float* opacities, const float* scales, float wo, float ws,
                            float* v_opacities, float* v_scales, float* loss) {
  VG_LAUNCH(reg_kernel, n, n, opacities, scales, wo, ws, v_opacities, v_scales, loss);
}

}  // namespace vg::detail
