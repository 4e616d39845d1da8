// The VGGSfM v2 tracker (vggt/dependency/vggsfm_tracker.py::TrackerPredictor) on CUDA: the same computation as
// VggsfmTracker (tracker.h, the CPU fp32 reference) with the encoders on the batched NHWC CNN layer
// (tracks/cuda_nn.h), the predictors as CudaTrackPredictor, conv / GEMM weights in fp32 (exact) or 16-bit (fp32
// accumulation), default stream. Feature maps are device NHWC [S,h,w,C]; results are device tensors.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "core/device.h"
#include "core/tensor.h"
#include "tracks/cuda_nn.h"
#include "tracks/tracker.h"
#include "vggt/cuda_ops.h"

namespace vg::tracks {

namespace cuda {
class CudaTrackPredictor;
}

class CudaVggsfmTracker {
 public:
  CudaVggsfmTracker(const VggsfmTracker& cpu, Device d, vggt::cuda::Precision p);  // uploads the weights

  const TrackerConfig& config() const { return cfg_; }
  Device device() const { return device_; }
  vggt::cuda::Precision precision() const { return precision_; }

  // process_images_to_fmaps: images [S,3,H,W] in [0,1] (CPU or device) -> device [S, H/(r*4), W/(r*4), C] NHWC.
  Tensor coarse_fmaps(const Tensor& images) const;
  // TrackerPredictor.forward: fmaps as coarse_fmaps returns them (or the CPU engine's CPU [S,C,h,w]), query points
  // [N,2] of frame 0 (pixels, CPU or device) -> tracks [S,N,2], vis [S,N] (device).
  VggsfmTracker::Result track(const Tensor& images, const Tensor& fmaps, const Tensor& query_points, bool fine,
                              int coarse_iters = 6) const;
  // The coarse predictor alone (fmaps as track() takes them): per-iteration tracks [S,N,2] and vis [S,N].
  VggsfmTracker::CoarseResult coarse_track(const Tensor& fmaps, const Tensor& query_points, int iters) const;
  // refine_track (compute_score=False) as VggsfmTracker::refine: coarse [S,N,2] -> refined [S,N,2]; square images.
  Tensor refine(const Tensor& images, const Tensor& coarse) const;

 private:
  Tensor basic_encoder(const Tensor& x) const;    // [B,H,W,3] -> [B,H/stride,W/stride,C]
  Tensor shallow_encoder(const Tensor& x) const;  // [B,P,P,3] -> [B,P,P,C]
  Tensor residual_block(const std::string& pre, const Tensor& x, int stride) const;
  const cuda::Conv& conv(const std::string& name) const;
  Tensor device_fmaps(const Tensor& fmaps) const;  // -> device NHWC

  TrackerConfig cfg_;
  Device device_;
  vggt::cuda::Precision precision_;
  std::map<std::string, cuda::Conv> convs_;  // encoder convs by official name ("coarse_fnet.conv1", ...)
  std::shared_ptr<const cuda::CudaTrackPredictor> coarse_, fine_;
};

}  // namespace vg::tracks
