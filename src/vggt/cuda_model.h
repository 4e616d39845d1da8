// The VGGT network on CUDA: the same computation as VggtModel (vggt/model.h, the CPU fp32 reference) with
// GEMM weights in fp32 (parity path, exact FMA) or 16-bit (bf16 on sm_80+, fp16 below; fp32 accumulation,
// fp32 activations), fused flash attention, and every layer on the default stream without host
// synchronisation (the only read-back is the [S,9] pose encoding at the end, for extrinsics / intrinsics).
#pragma once
#include <memory>
#include <string>

#include "core/device.h"
#include "core/tensor.h"
#include "vggt/config.h"
#include "vggt/cuda_ops.h"
#include "vggt/cuda_vit.h"
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
  const float* f32(const std::string& name) const { return params_.f32(name); }          // fp32 device parameter
  const float* f32_opt(const std::string& name) const { return params_.f32_opt(name); }  // nullptr when absent
  const void* gemm_w(const std::string& name) const { return params_.gemm_w(name); }     // in the model precision
  const Shape& shape(const std::string& name) const { return params_.shape(name); }      // original (official) shape

  VggtConfig cfg_;
  Device device_;
  cuda::Precision precision_;
  CudaParams params_;                   // every parameter on the device (cuda_vit.h)
  Tensor pos_embed_host_;               // aggregator.patch_embed.pos_embed (CPU, for resizing)
};

}  // namespace vg::vggt
