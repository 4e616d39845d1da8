// The VGGSfM tracker's BaseTrackerPredictor (track_modules/base_track_predictor.py) on CUDA: the same computation
// as detail::track_predictor (tracker_predictor.cc, the CPU fp32 reference) for B independent batch elements in the
// same launches, feature maps NHWC, GEMM weights in fp32 (exact) or 16-bit (fp32 accumulation), exact fp32
// attention, default stream, no host synchronisation. CPU-only builds: the constructor throws.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "io/state_dict.h"
#include "tracks/tracker.h"
#include "vggt/cuda_ops.h"

namespace vg::tracks::cuda {

// One BaseTrackerPredictor's weights on the device (prefix "coarse_predictor" / "fine_predictor").
class CudaTrackPredictor {
 public:
  CudaTrackPredictor(const StateDict& w, const std::string& prefix, const TrackPredictorConfig& cfg, Device d,
                     vggt::cuda::Precision p);
  struct Result {
    std::vector<Tensor> coords;  // per iteration: [B,S,N,2] device F32, pixels of the original image scale
    Tensor vis;                  // [B,S,N] device F32 in [0,1] (sigmoid); undefined for the fine predictor
  };
  // BaseTrackerPredictor.forward for B independent batch elements: fmaps [B,S,h,w,C] device F32 NHWC
  // (C = latent_dim), query [B,N,2] device or CPU F32 (pixels of the original scale, frame 0's), iters, down_ratio
  // as the CPU engine.
  Result forward(const Tensor& fmaps, const Tensor& query, int iters, int down_ratio) const;

  const TrackPredictorConfig& config() const { return cfg_; }
  Device device() const { return device_; }

 private:
  struct Work;  // per-forward device buffers
  const float* f32(const std::string& name) const;  // fp32 device parameter (prefix-relative name)
  const void* gemm_w(const std::string& name) const;  // GEMM weight in the precision (fp32 or 16-bit)
  const void* gemm_rows(const std::string& name, int64_t row0) const;  // gemm_w from row row0 on
  // y = epi(x [M, K] @ W^T + b) for the linear `name` (weight [N, K]), rows [row0, row0 + n_out) of W and b.
  void lin(const float* x, int64_t M, const std::string& name, float* y, vggt::cuda::Epilogue epi, int64_t row0 = 0,
           int64_t n_out = -1) const;
  void mlp_residual(const std::string& pre, float* h, int64_t rows, Work& wk) const;
  void attn_block(const std::string& pre, const float* x, float* h, int64_t M, int64_t L, Work& wk) const;
  void cross_attn_block(const std::string& pre, const float* x, const float* ctx, float* h, int64_t M, int64_t Lq,
                        int64_t Lk, Work& wk) const;
  void update_former(const float* x, int64_t B, int64_t N, int64_t S, Work& wk, float* delta) const;

  std::string pre_;
  TrackPredictorConfig cfg_;
  Device device_;
  vggt::cuda::Precision precision_;
  std::map<std::string, Tensor> f32_;   // every parameter of the predictor in fp32, prefix-relative names
  std::map<std::string, Tensor> lowp_;  // 16-bit GEMM weights (U8 storage) when precision_ is not F32
  std::map<std::string, Shape> shapes_;
};

}  // namespace vg::tracks::cuda
