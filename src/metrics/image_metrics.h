// Evaluation metrics with torchmetrics' definitions (data range 1): PSNR and SSIM
// (11x11 Gaussian, sigma 1.5, K1 0.01, K2 0.03; torchmetrics >= 1.5: reflect padding by 5 px, no crop,
// variances clamped at 0, mean over every pixel and channel).
#pragma once
#include "core/tensor.h"

namespace vg {

// a, b: [H,W,3] on any device (same one). Returns host doubles.
double psnr(const Tensor& a, const Tensor& b);
double ssim(const Tensor& a, const Tensor& b);

}  // namespace vg
