// One interface over the two VGGT engines: the CPU fp32 reference (vggt/model.h VggtModel) and the CUDA engine
// (vggt/cuda_model.h CudaVggtModel). make_vggt_engine picks by the resolved device: CUDA -> CudaVggtModel in the
// requested precision (auto = bf16 on compute capability >= 8.0, fp16 below; fp32 = the parity path), CPU ->
// VggtModel (fp32 only). The P2 export (vggt/export_run.cc) runs the network through this.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "core/device.h"
#include "core/tensor.h"
#include "vggt/config.h"
#include "vggt/cuda_ops.h"
#include "vggt/model.h"
#include "vggt/weights.h"

namespace vg::vggt {

class VggtEngine {
 public:
  virtual ~VggtEngine() = default;
  // images [S,3,H,W] in [0,1] (CPU or the engine's device). Outputs lie on device(); returns once they are
  // computed (the CUDA engine synchronises), so wall-clock timing around it is the network's time.
  virtual VggtOutput forward(const Tensor& images, const VggtOptions& opts = {}) const = 0;
  virtual const char* name() const = 0;       // "cpu" | "cuda"
  virtual const char* precision() const = 0;  // "fp32" | "bf16" | "fp16"
  virtual Device device() const = 0;
  // Peak bytes of vgsplat's GPU allocations since the engine was made (weights included); 0 on the CPU.
  virtual size_t peak_memory_bytes() const { return 0; }
};

// A CUDA engine precision by name: auto (bf16 on compute capability >= 8.0, fp16 below) | fp32 | bf16 | fp16;
// bf16 on an older GPU or an unknown name throws. Shared by the VGGT and the track-source CUDA engines.
cuda::Precision resolve_precision(const std::string& precision, const Device& device);

// `precision`: auto | fp32 | bf16 | fp16. The CPU engine accepts auto / fp32; bf16 needs compute capability
// >= 8.0. On CUDA the weights are uploaded here (and the peak-memory counter of the device reset first), so
// `weights` can be dropped afterwards.
std::unique_ptr<VggtEngine> make_vggt_engine(const VggtConfig& cfg, VggtWeights weights, const Device& device,
                                             const std::string& precision = "auto");

}  // namespace vg::vggt
