// Internal (.cu only): fp32 -> the element type of a VGGT tensor (fp32, or bf16 / fp16 rounded to nearest even).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace vg::vggt::cuda {

template <typename T>
__device__ __forceinline__ T from_f32(float v);
template <>
__device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

}  // namespace vg::vggt::cuda
