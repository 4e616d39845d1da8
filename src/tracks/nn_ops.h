// fp32 CPU reference ops for the track-source networks (DINOv2, ALIKED, SuperPoint, the VGGSfM tracker), beside
// the ones they share with VGGT (vggt/cpu_ops.h: linear, layer_norm, attention, conv2d, bilinear resize) and
// LPIPS (metrics/conv2d.h). Feature maps are contiguous F32 CPU tensors [C,H,W] (one frame), threaded with
// parallel_for. Semantics are PyTorch's, named in each comment.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace vg::tracks::ops {

// nn.MaxPool2d(kernel, stride, padding) (floor mode, padding acts as -inf): x [C,H,W] -> [C,Ho,Wo],
// Ho = (H + 2 pad - kernel) / stride + 1. (Forwards to nn::max_pool2d of metrics/conv2d.h.)
Tensor max_pool2d(const Tensor& x, int kernel, int stride, int pad);

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

// The same at pixel coordinates p [N,2] = (x, y) with the align_corners=True convention (pixel centres at
// integers; CoTracker's bilinear_sampler / sample_features4d): [N, C].
Tensor sample_bilinear_pixels(const Tensor& x, const Tensor& p, Padding padding);

// x[c] += y[c] broadcast over H*W: bias add for [C,H,W].
void add_channel_bias_(Tensor& x, const Tensor& b);

// Softmax over the last dimension, in place.
void softmax_lastdim_(Tensor& x);

void elu_(Tensor& x, float alpha = 1.0f);
void selu_(Tensor& x);
void sigmoid_(Tensor& x);

}  // namespace vg::tracks::ops
