// Internal: one Gaussian's share of the opacity / scale regularisers (regularization.h), shared by the CPU loop
// and the CUDA kernel. C++17-clean: included by the .cu.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define VG_REG_HD __host__ __device__ __forceinline__
#else
#define VG_REG_HD inline
#endif

namespace vg::detail {

// wo = opacity_reg / N, ws = scale_reg / (3N). Adds the row's gradients, returns its share of the loss.
VG_REG_HD float reg_row(int64_t i, const float* opacities, const float* scales, float wo, float ws, float* v_opacities,
                        float* v_scales) {
  const float o = 1.0f / (1.0f + expf(-opacities[i]));
  v_opacities[i] += wo * o * (1.0f - o);  // d sigmoid(x) / dx = s (1 - s)
  float loss = wo * o;
  for (int j = 0; j < 3; ++j) {
    const float e = expf(scales[3 * i + j]);
    v_scales[3 * i + j] += ws * e;
    loss += ws * e;
  }
  return loss;
}

void opacity_scale_reg_cuda(int64_t n, const float* opacities, const float* scales, float wo, float ws,
                            float* v_opacities, float* v_scales, float* loss);

}  // namespace vg::detail
