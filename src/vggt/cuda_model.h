// The VGGT network on CUDA: the same computation as VggtModel (vggt/model.h, the CPU fp32 reference) with
// GEMM weights in fp32 (parity path, exact FMA) or 16-bit (bf16 on sm_80+, fp16 below; fp32 accumulation,
// fp32 activations), fused flash attention, and every layer on the default stream without host
// synchronisation (the only read-back is the [S,9] pose encoding at the end, for extrinsics / intrinsics).
#pragma once
#include <map>
#include <memory>
#include <string>

#include "core/device.h"
#include "core/tensor.h"
#include "vggt/config.h"
#include "vggt/cuda_ops.h"
#include "vggt/model.h"
#include "vggt/weights.h"

namespace vg::vggt {

class CudaVggtRunner;

// bf16 on compute capability >= 8.0, fp16 below.
cuda::Precision default_cuda_precision(const Device& device);

class CudaVggtModel {
 public:
  // Uploads the weights to `device` (16-bit copies of the GEMM weights unless precision is F32).
  CudaVggtModel(VggtConfig cfg, const VggtWeights& weights, Device device, cuda::Precision precision);
  const VggtConfig& config() const { return cfg_; }
  cuda::Precision precision() const { return precision_; }
  Device device() const { return device_; }
  // images [S,3,H,W] in [0,1] (CPU or this device). Every output lies on this device.
  VggtOutput forward(const Tensor& images, const VggtOptions& opts = {}) const;

 private:
  friend class CudaVggtRunner;
  const float* f32(const std::string& name) const;       // fp32 device parameter
  const float* f32_opt(const std::string& name) const;   // nullptr when absent
  // Suffix of a block's proj / fc2 bias with its LayerScale folded in (16-bit precisions: the GEMM weight is
  // folded too, so the residual needs no gamma).
  static constexpr const char* kLayerScaled = ":layer_scaled";
  // The patch embedding's GEMM K: 3 p^2, padded with zero columns to a multiple of 8 for the 16-bit precisions
  // (588 -> 592: cuBLASLt needs 16-byte rows).
  static constexpr const char* kPatchEmbedWeight = "aggregator.patch_embed.patch_embed.proj.weight";
  int64_t patch_embed_k() const;
  const void* gemm_w(const std::string& name) const;     // GEMM weight in the model precision
  const Shape& shape(const std::string& name) const;     // original (official) shape

  VggtConfig cfg_;
  Device device_;
  cuda::Precision precision_;
  std::map<std::string, Tensor> f32_;   // device fp32 (all parameters in F32 mode; non-GEMM ones otherwise)
  std::map<std::string, Tensor> lowp_;  // device 16-bit GEMM weights (U8 storage)
  std::map<std::string, Shape> shapes_;
  Tensor pos_embed_host_;               // aggregator.patch_embed.pos_embed (CPU, for resizing)
};

}  // namespace vg::vggt
