// CPU layers for small inference networks (LPIPS' AlexNet): 2-D convolution as im2col + Eigen GEMM,
// ReLU, max pooling. Feature maps are F32 CPU tensors [C,H,W]; threaded with parallel_for.
#pragma once
#include "core/tensor.h"

namespace vg::nn {

// x [C,H,W], weight [O,C,kh,kw], bias [O] (or an undefined Tensor) -> [O,Ho,Wo] with zero padding
// `pad` on every side: Ho = (H + 2 pad - kh) / stride + 1 (torch.nn.Conv2d).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int pad);

// In place max(x, 0).
void relu_(Tensor& x);

// x [C,H,W] -> [C,Ho,Wo], Ho = (H + 2 pad - kernel) / stride + 1 (torch.nn.MaxPool2d, floor mode; the padding
// acts as -inf).
Tensor max_pool2d(const Tensor& x, int kernel, int stride, int pad = 0);

}  // namespace vg::nn
