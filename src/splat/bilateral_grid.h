// gsplat's bilateral grid for photos with changing exposure (simple_trainer --post-processing bilateral_grid,
// examples/lib_bilagrid.py; Wang et al. 2024, "Bilateral Guided Radiance Field Processing"): one grid per training
// image of 3x4 affine colour transforms over (x, y, luma), shape [N, 12, L, H, W] (L = grid_W guidance bins,
// H = grid_Y, W = grid_X), identity at the start. Slicing a render samples each pixel's matrix trilinearly at
// ((x + 0.5) / width, (y + 0.5) / height, luma(rgb)) (torch grid_sample, align_corners=True, border padding) and
// applies it: out = A[:, :3] rgb + A[:, 3]. The training loss is taken on the sliced colours, plus 10 x the grids'
// total variation. CPU reference and CUDA kernels (dispatch on the tensors' device).
#pragma once
#include "core/tensor.h"

namespace vg {

struct BilateralGridShape {
  int x = 16, y = 16, w = 8;  // gsplat bilateral_grid_shape (grid_X, grid_Y, grid_W)
};

// gsplat BilateralGrid._init_identity_grid tiled n times: F32 [n, 12, w, y, x], every cell [I | 0].
Tensor bilateral_grid_identity(int64_t n, const BilateralGridShape& s, Device d = Device::cpu());
// The shape of grids [N, 12, w, y, x] (checked).
BilateralGridShape bilateral_grid_shape_of(const Tensor& grids);

// lib_bilagrid.slice of one image with grid `index` of `grids`: rgb [H, W, 3] -> [H, W, 3], same device.
Tensor bilateral_grid_slice(const Tensor& grids, int64_t index, const Tensor& rgb);

// The slice's backward given v_out = d loss / d out [H, W, 3]: adds d loss / d grids to v_grids [N, 12, w, y, x]
// (grid `index` only) and returns d loss / d rgb [H, W, 3] (through the affine map and through the luma guidance).
Tensor bilateral_grid_slice_backward(const Tensor& grids, int64_t index, const Tensor& rgb, const Tensor& v_out,
                                     Tensor& v_grids);

// weight x lib_bilagrid total_variation_loss(grids) (the mean squared difference along L, H and W, summed over
// the axes and divided by N): an F32 [1] tensor on the grids' device; adds its gradient to v_grids.
Tensor bilateral_grid_tv_loss(const Tensor& grids, float weight, Tensor& v_grids);

}  // namespace vg
