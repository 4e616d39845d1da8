// Colour correction for the cc_* metrics of gsplat's evaluation (simple_trainer --use-color-correction-metric,
// gsplat/color_correct.py, adapted there from multinerf): a render is mapped to the ground truth's colours
// before PSNR / SSIM / LPIPS, so that an appearance model (--post-processing bilateral_grid) that the test
// views do not have is not counted against the geometry.
#pragma once
#include <string>

#include "core/tensor.h"

namespace vg {

// Per channel, the affine best fit a ref + b = img (least squares), inverted: (img - b) / a, clipped to [0,1].
// img, ref: [..., C] F32 on the CPU.
Tensor color_correct_affine(const Tensor& img, const Tensor& ref);

// Per output channel, the least-squares map from the quadratic expansion of img's colours (the products
// img_c img_d for d >= c, the colours, 1) to ref's, over the pixels unclipped in img (at the start and in the
// current estimate) and in ref ([eps, 1 - eps]); num_iters times, the estimate clipped to [0,1] each time.
// Solved in double by a complete orthogonal decomposition (the minimum-norm solution, as torch.linalg.lstsq).
Tensor color_correct_quadratic(const Tensor& img, const Tensor& ref, int num_iters = 5, double eps = 0.5 / 255);

// "affine" | "quadratic"; vg::Error for another name.
Tensor color_correct(const Tensor& img, const Tensor& ref, const std::string& method);

}  // namespace vg
