// The opacity / scale regularisers on CUDA: one thread per Gaussian adds its gradients; the loss is summed per
// block (warp shuffles) and atomically added to one float (only its last bits depend on the block order).
#include "core/cuda_launch.cuh"
#include "splat/regularization_kernels.h"

namespace vg::detail {
namespace {

__global__ void reg_kernel(int64_t n, const float* __restrict__ opacities, const float* __restrict__ scales, float wo,
                           float ws, float* __restrict__ v_opacities, float* __restrict__ v_scales,
                           float* __restrict__ loss) {
  float sum = 0.0f;
  VG_GRID_STRIDE(i, n) sum += reg_row(i, opacities, scales, wo, ws, v_opacities, v_scales);
  block_sum_atomic_add(sum, loss);
}

}  // namespace

void opacity_scale_reg_cuda(int64_t n, const float* opacities, const float* scales, float wo, float ws,
                            float* v_opacities, float* v_scales, float* loss) {
  VG_LAUNCH(reg_kernel, n, n, opacities, scales, wo, ws, v_opacities, v_scales, loss);
}

}  // namespace vg::detail
