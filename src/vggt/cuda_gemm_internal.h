// Internal to the VGGT GEMM dispatch (cuda_gemm.cu): the cuBLASLt path of cuda_cublaslt.cu. C++17-clean.
#pragma once
#include <cstdint>

#include "vggt/cuda_ops.h"

namespace vg::vggt::cuda {

// linear() through cuBLASLt for the 16-bit precisions; false (nothing launched) when cuBLASLt is unavailable or
// the shape does not suit it (K not a multiple of 8), so the caller falls back to its WMMA kernel.
bool cublaslt_linear(const float* A, int64_t M, int64_t K, const void* W, int64_t N, const float* bias, float* C,
                     int64_t ldc, Epilogue epi, const float* gamma, Precision p);
// The same with A already 16-bit (the type of p); false when cuBLASLt is unavailable or the shape does not suit it.
bool cublaslt_linear_a16(const void* A16, int64_t M, int64_t K, const void* W, int64_t N, const float* bias, float* C,
                         int64_t ldc, Epilogue epi, const float* gamma, Precision p);
bool cublaslt_available();

}  // namespace vg::vggt::cuda
