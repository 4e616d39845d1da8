// fp32 CPU reference ops for the track-source networks (ALIKED, the VGGSfM tracker), beside the ones they share
// with VGGT (vggt/cpu_ops.h: linear, layer_norm, attention, conv2d, bilinear resize, activations) and LPIPS
// (metrics/conv2d.h: conv2d, max_pool2d with padding). Feature maps are contiguous F32 CPU tensors [C,H,W] (one frame), threaded with
// parallel_for. Semantics are PyTorch's, named in each comment.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace vg::tracks::ops {

// nn.InstanceNorm2d(C) without affine parameters (track_running_stats=False): per channel over H*W, biased
// variance, eps 1e-5 by default. In place on x [C,H,W].
void instance_norm_(Tensor& x, float eps = 1e-5f);

// Eval-mode nn.BatchNorm2d folded to y = (x - mean) / sqrt(var + eps) * w + b, in place on x [C,H,W].
void batch_norm_(Tensor& x, const Tensor& w, const Tensor& b, const Tensor& mean, const Tensor& var,
                 float eps = 1e-5f);

enum class Padding { kZeros, kBorder };
// F.grid_sample(mode="bilinear") of one frame x [C,H,W] at N points given in grid_sample's normalised
// coordinates g [N,2] = (x, y) in [-1, 1] (align_corners selects which pixel positions -1 and 1 denote).
// Returns [N, C] (one row per point).
Tensor grid_sample_points(const Tensor& x, const Tensor& g, bool align_corners, Padding padding);

}  // namespace vg::tracks::ops
