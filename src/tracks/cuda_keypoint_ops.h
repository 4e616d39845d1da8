// Tensor-level device ops of the keypoint detectors (CudaSuperPoint, CudaAliked), beside the shared conv layer
// of tracks/cuda_nn.h: the deformable convolution, LightGlue's simple_nms and the candidate hand-off to the host.
// Feature maps are device F32 NHWC [1,H,W,C]; score maps are device F32 with H, W as the last two dimensions.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "tracks/cuda_nn.h"
#include "tracks/deform_conv.h"

namespace vg::tracks::cuda {

// torchvision deform_conv2d with one offset group and no mask (ALIKED's DeformableConv2d, mask=False): x
// [1,H,W,C], offset [1,Ho,Wo,2 k k] ((dy, dx) per tap t = ky k + kx) clamped to +-max_offset first (INFINITY:
// no clamp), c = the regular conv (k x k, Cin = C; its bias, if any, added) -> [1,Ho,Wo,Cout]. As a deformable
// im2col + vggt::cuda::linear.
Tensor deform_conv2d(const Tensor& x, const Tensor& offset, const Conv& c, const ops::DeformConvGeometry& geo,
                     float max_offset = INFINITY, Epilogue epi = Epilogue::kStore);

// LightGlue's simple_nms (superpoint.h simple_nms) of a device map [..., H, W] (leading dimensions 1): survivors
// keep their score, the rest 0. Same shape, on the device.
Tensor simple_nms_map(const Tensor& scores, int radius);

// The pixels of a device map [..., H, W] outside a `border`-px frame with score > threshold, copied to the host
// in raster order (torch.where's), with their scores.
struct Candidates {
  std::vector<int64_t> idx;  // flat raster index y W + x, ascending
  std::vector<float> score;
};
Candidates select_candidates(const Tensor& scores, int border, float threshold);

// A CHW image [C,H,W] on the device `d` (uploaded when it is on the host; no copy when already there).
Tensor image_on(const Tensor& image, Device d);

}  // namespace vg::tracks::cuda
