// Internal: the fused Adam CUDA launcher (adam.cu; adam_nocuda.cc in CPU-only builds). C++17-clean.
#pragma once
#include <cstdint>

namespace vg::detail {

// Per-step scalars, computed on the host in double as torch does, then rounded to float.
struct AdamScalars {
  float one_minus_beta1;  // lerp weight of exp_avg towards grad
  float beta2, one_minus_beta2;
  float step_size;        // lr / (1 - beta1^t)
  float bc2_sqrt;         // sqrt(1 - beta2^t)
  float eps;
};

void adam_step_cuda(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                    const AdamScalars& s);

}  // namespace vg::detail
