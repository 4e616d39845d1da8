// Internal: raw launchers behind tracks/cuda_nn.h (cuda_nn.cu; the CPU-only build gets throwing definitions from
// cuda_nn_nocuda.cc). Batched NHWC maps [B,H,W,C], fp32 activations, default stream, no host synchronisation.
// C++17-clean: included by .cu files.
#pragma once
#include <cstdint>

#include "vggt/cuda_ops.h"

namespace vg::tracks::cuda::detail {

// Rows row0 .. row0+rows-1 of the im2col matrix of x [B,H,W,C] for a kxk conv: row r = (b, oy, ox) of
// [B,Ho,Wo], columns (ky, kx, c) (zero padding). out [rows, k*k*C] in fp32 (p = F32) or the 16-bit type of p.
void im2col_rows(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int k, int stride, int pad, int64_t Ho,
                 int64_t Wo, int64_t row0, int64_t rows, void* out, vggt::cuda::Precision p);

// Bytes of scratch instance_norm needs for B maps of HW pixels and C channels.
int64_t instance_norm_scratch_bytes(int64_t B, int64_t HW, int64_t C);
// InstanceNorm2d in place on x [B,HW,C] (per (b, c), biased variance, statistics in double), then ReLU if relu.
// scratch: instance_norm_scratch_bytes(B, HW, C) bytes of device memory (8-byte aligned).
void instance_norm(float* x, int64_t B, int64_t HW, int64_t C, float eps, bool relu, void* scratch);
// Eval BatchNorm2d in place on x [n, C]: x = x * (w / sqrt(var + eps)) + (b - mean * scale).
void batch_norm(float* x, int64_t n, int64_t C, const float* w, const float* b, const float* mean, const float* var,
                float eps);
// Bilinear resize of x [B,H,W,C] to y [B,Ho,Wo,C]; sy, sx the source-index scales as ATen computes them.
void bilinear(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t Ho, int64_t Wo, bool align_corners,
              float sy, float sx, float* y);
// MaxPool2d of x [B,H,W,C] to y [B,Ho,Wo,C] (-inf padding, NaN propagates).
void max_pool(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int k, int stride, int pad, int64_t Ho,
              int64_t Wo, float* y);
// Layout changes: x [B,C,H,W] -> y [B,H,W,C], and back.
void nchw_to_nhwc(const float* x, int64_t B, int64_t C, int64_t H, int64_t W, float* y);
void nhwc_to_nchw(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, float* y);

}  // namespace vg::tracks::cuda::detail
