// Internal: the Adam element update shared by the CPU reference and the CUDA kernel, in torch's order
// (torch/optim/adam.py, _single_tensor_adam):
//   exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad^2
//   denom = sqrt(exp_avg_sq) / sqrt(bc2) + eps; param += -step_size * (exp_avg / denom).
#pragma once
#include <cmath>

#include "splat/adam_kernels.h"

#ifdef __CUDACC__
#define VG_HD __host__ __device__ __forceinline__
#else
#define VG_HD inline
#endif

namespace vg::detail {

VG_HD void adam_update(float& p, float g, float& m, float& v, const AdamScalars& s) {
  m = m + s.one_minus_beta1 * (g - m);  // torch lerp with weight < 0.5
  v = v * s.beta2 + s.one_minus_beta2 * g * g;
  float denom = sqrtf(v) / s.bc2_sqrt + s.eps;
  p = p + (-s.step_size) * (m / denom);
}

}  // namespace vg::detail
