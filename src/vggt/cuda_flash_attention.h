// Internal to the VGGT attention dispatch (cuda_attention.cu): the 16-bit tensor-core kernels, the register-resident
// FlashAttention-2 of cuda_flash_attention.cu (any GPU from sm_75, layout kRows) and the wgmma / bulk-copy kernel of
// cuda_flash_attention_sm90.cu (sm_90a, D = 64, layout kSwizzled128). C++17-clean.
#pragma once
#include <cstdint>

#include "vggt/cuda_ops.h"

namespace vg::vggt::cuda {

// flash_attention for Precision::BF16 / F16: q, k, v [B*H, N, D] of that 16-bit type, out [B, N, H*D] fp32.
// D in {16, 32, 64, 128}.
void flash_attention_tc(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N, int D,
                        Precision p);

// The same for D = 64 on sm_90a from AttnLayout::kSwizzled128 inputs. Only when sm90_attention_built().
void flash_attention_sm90(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N,
                          Precision p);

// Whether this build carries sm_90a code for flash_attention_sm90 (CMake: 90 in CUDA_ARCHITECTURES).
constexpr bool sm90_attention_built() {
#if defined(VGSPLAT_HAS_SM90A) && VGSPLAT_HAS_SM90A
  return true;
#else
  return false;
#endif
}

}  // namespace vg::vggt::cuda
