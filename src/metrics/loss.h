// The 3DGS training loss: (1 - lambda) * L1 + lambda * (1 - SSIM), with SSIM as fused-ssim computes it
// for training in gsplat's simple_trainer (fused_ssim padding="valid": 11x11 Gaussian window, sigma 1.5,
// C1 = 0.01^2, C2 = 0.03^2, mean over the (H-10)x(W-10) interior and the channels). Forward and exact backward in one call; CPU reference and a fused CUDA kernel.
#pragma once
#include "core/tensor.h"

namespace vg {

struct PhotometricLoss {
  Tensor loss;      // F32 [1] on the inputs' device (read with .item() only when needed)
  Tensor l1;        // F32 [1]
  Tensor ssim;      // F32 [1]
  Tensor v_render;  // [H,W,3] d loss / d render
};

// render, gt: [H,W,3] in [0,1], same device.
PhotometricLoss photometric_loss(const Tensor& render, const Tensor& gt, float ssim_lambda);

}  // namespace vg
