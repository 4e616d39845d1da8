// Row-wise tensor building blocks for densification (gather, concatenate, fill), on CPU and CUDA.
// "Row" = index along dimension 0; the rest of the shape is kept.
#pragma once
#include "core/tensor.h"

namespace vg {

// out[i] = t[ids[i]]; ids is i32 [M] on t's device.
Tensor index_select_rows(const Tensor& t, const Tensor& ids);
// Rows of a followed by rows of b (same dtype, device and trailing shape).
Tensor cat_rows(const Tensor& a, const Tensor& b);
// Sets every element of an F32 tensor to v.
void fill_(Tensor& t, float v);
// In place t = min(t, hi) for an F32 tensor (torch.clamp(max=hi)).
void clamp_max_(Tensor& t, float hi);
// In place y += a * x for F32 tensors of one shape on one device (torch.Tensor.add_(x, alpha=a)).
void axpy_(Tensor& y, float a, const Tensor& x);
// F32 copy of a U8 tensor scaled to [0, 1] (x / 255, as torchvision's to_tensor), on t's device.
Tensor unorm8_to_f32(const Tensor& t);

}  // namespace vg
