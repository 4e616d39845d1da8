// Internal to the VGGT attention dispatch (cuda_attention.cu): the register-resident FlashAttention-2 forward
// kernel of cuda_flash_attention.cu for the 16-bit precisions. C++17-clean.
#pragma once
#include <cstdint>

#include "vggt/cuda_ops.h"

namespace vg::vggt::cuda {

// flash_attention for Precision::BF16 / F16: q, k, v [B*H, N, D] of that 16-bit type, out [B, N, H*D] fp32.
// D in {16, 32, 64, 128}.
void flash_attention_tc(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N, int D,
                        Precision p);

}  // namespace vg::vggt::cuda
