// SuperPoint keypoints on the GPU: the same network and selection as tracks/superpoint.h (LightGlue's
// SuperPoint.extract, keypoints and scores only). The VGG encoder, detector head, 65-way cell softmax and
// simple_nms, border removal and threshold run on the device; the candidates (a few thousand) come to the host
// for the top-k and ordering of select_keypoints (rank_keypoints), so the result equals SuperPoint::extract's up
// to fp32 rounding in the convolutions.
#pragma once
#include <array>

#include "core/device.h"
#include "core/tensor.h"
#include "tracks/cuda_nn.h"
#include "tracks/keypoints.h"
#include "tracks/superpoint.h"

namespace vg::tracks {

class CudaSuperPoint {
 public:
  // Uploads the weights of a loaded SuperPoint to `device`; BF16 / F16: 16-bit conv weights, fp32 accumulation.
  CudaSuperPoint(const SuperPoint& net, Device device, cuda::Precision p = cuda::Precision::F32);

  // image [3,H,W] (RGB) or [1,H,W] (gray), F32 in [0,1], on the host or on this device. Keypoints (x, y) and
  // scores as host tensors, as SuperPoint::extract.
  Keypoints extract(const Tensor& image) const;
  // The dense detector map [8 (H/8), 8 (W/8)] on the device (SuperPoint::dense_scores).
  Tensor dense_scores(const Tensor& image) const;

  const SuperPointOptions& options() const { return opt_; }
  Device device() const { return device_; }

 private:
  SuperPointOptions opt_;
  Device device_;
  std::array<cuda::Conv, 10> conv_;  // conv1a, conv1b, ..., conv4b, convPa, convPb
};

}  // namespace vg::tracks
