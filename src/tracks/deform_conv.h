// Deformable convolution (DCN v1 / modulated DCN v2), torchvision.ops.deform_conv2d semantics, fp32 CPU
// reference on one frame. Papers: Dai et al. 2017 "Deformable Convolutional Networks" (arXiv 1703.06211) and
// Zhu et al. 2019 "Deformable ConvNets v2" (arXiv 1811.11168).
#pragma once
#include "core/tensor.h"

namespace vg::tracks::ops {

struct DeformConvGeometry {
  int stride = 1, pad = 0, dilation = 1;  // the same along y and x
};

// out[o, y, x] = bias[o] + sum_{c, tap} weight[o, c, i, j] * mask[g, tap, y, x] * bilinear(x[c], py, px) with
//   tap = i * kw + j, g = c / (C / G) (offset group), (dy, dx) = offset[2 (g kh kw + tap) + {0, 1}, y, x],
//   py = y stride - pad + i dilation + dy, px = x stride - pad + j dilation + dx.
// bilinear() reads zeros outside the map (a sample point at or beyond 1 px outside gives 0).
// x [C,H,W]; offset [2 G kh kw, Ho, Wo]; mask [G kh kw, Ho, Wo] or undefined (DCN v1: all 1);
// weight [O, C, kh, kw]; bias [O] or undefined -> [O, Ho, Wo], Ho = (H + 2 pad - dilation (kh - 1) - 1) / stride + 1.
Tensor deform_conv2d(const Tensor& x, const Tensor& offset, const Tensor& weight, const Tensor& bias,
                     const Tensor& mask, const DeformConvGeometry& geo);

}  // namespace vg::tracks::ops
