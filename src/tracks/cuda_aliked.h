// ALIKED (aliked-n16) keypoints on the GPU: the network of tracks/aliked.h (LightGlue's ALIKED.extract,
// keypoints and scores only). Conv blocks, the deformable convolutions, the score head, upsampling and sigmoid
// run on the device, and DKD's simple_nms and border removal too; the score map and its NMS'd copy then come to
// the host (4 MB each at 1024 x 1024) for the selection, soft-argmax refinement and score sampling of
// Aliked::detect (detect_from_nms: the same code, exact on the same maps).
// BatchNorm (eval) is folded into the preceding conv at upload: w' = w * gamma / sqrt(var + eps),
// b' = beta - mean * gamma / sqrt(var + eps) (fp32 rounding differs from the CPU's separate pass by ~1 ulp).
#pragma once
#include <array>

#include "core/device.h"
#include "core/tensor.h"
#include "tracks/aliked.h"
#include "tracks/cuda_nn.h"
#include "tracks/keypoints.h"

namespace vg::tracks {

class CudaAliked {
 public:
  // Uploads the weights of a loaded Aliked to `device`; BF16 / F16: 16-bit conv weights, fp32 accumulation.
  CudaAliked(const Aliked& net, Device device, cuda::Precision p = cuda::Precision::F32);

  // image [3,H,W] (or [1,H,W], repeated to RGB) F32 in [0,1], on the host or on this device -> keypoints and
  // scores as host tensors, as Aliked::extract.
  Keypoints extract(const Tensor& image) const;
  // extract_dense_map's score map [1,H,W] (unpadded), on the device.
  Tensor score_map(const Tensor& image) const;
  // DKD on a device score map [1,H,W] (Aliked::detect).
  Keypoints detect(const Tensor& score_map) const;

  const AlikedOptions& options() const { return opt_; }
  Device device() const { return device_; }

 private:
  struct BlockConv {  // get_conv: a plain 3x3 conv or a DeformableConv2d; the following BatchNorm folded in
    cuda::Conv conv, offset;
    bool dcn = false;
  };
  struct Block {
    BlockConv conv1, conv2;
    cuda::Conv downsample;  // ResBlock only
  };
  Tensor block_conv(const BlockConv& c, const Tensor& x) const;
  Tensor conv_block(const Block& b, const Tensor& x) const;
  Tensor res_block(const Block& b, const Tensor& x) const;

  AlikedOptions opt_;
  Device device_;
  std::array<Block, 4> blocks_;
  std::array<cuda::Conv, 4> proj_;   // conv1 .. conv4 (1x1, to dim / 4)
  std::array<cuda::Conv, 4> head0_;  // score_head.0's columns of part k (1x1, dim / 4 -> 8)
  std::array<cuda::Conv, 3> head_;   // score_head.2, .4, .6 (3x3)
};

}  // namespace vg::tracks
