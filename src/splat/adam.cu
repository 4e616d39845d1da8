// Fused Adam: one elementwise kernel per parameter tensor (moments and parameter updated in one pass).
#include "core/cuda_check.h"
#include "splat/adam_kernels.h"
#include "splat/adam_update.h"

namespace vg::detail {
namespace {

constexpr int kBlock = 256;

__global__ void adam_kernel(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ exp_avg,
                            float* __restrict__ exp_avg_sq, int64_t n, AdamScalars s) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float p = param[i], m = exp_avg[i], v = exp_avg_sq[i];
  adam_update(p, grad[i], m, v, s);
  param[i] = p;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
}

}  // namespace

void adam_step_cuda(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                    const AdamScalars& s) {
  if (n == 0) return;
  adam_kernel<<<grid_for(n, kBlock), kBlock>>>(param, grad, exp_avg, exp_avg_sq, n, s);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace vg::detail
