// make_vggt_engine: the CPU reference or the CUDA engine behind VggtEngine (vggt/engine.h).
#include "vggt/engine.h"

#include "core/cuda_memory.h"
#include "core/error.h"
#include "vggt/cuda_model.h"

namespace vg::vggt {

namespace {

class CpuEngine final : public VggtEngine {
 public:
  CpuEngine(const VggtConfig& cfg, VggtWeights w) : model_(cfg, std::move(w)) {}
  VggtOutput forward(const Tensor& images, const VggtOptions& opts) const override {
    return model_.forward(images.device().is_cpu() ? images : images.to(Device::cpu()), opts);
  }
  const char* name() const override { return "cpu"; }
  const char* precision() const override { return "fp32"; }
  Device device() const override { return Device::cpu(); }

 private:
  VggtModel model_;
};

class CudaEngine final : public VggtEngine {
 public:
  CudaEngine(const VggtConfig& cfg, const VggtWeights& w, const Device& d, cuda::Precision p)
      : model_(cfg, w, d, p) {}
  VggtOutput forward(const Tensor& images, const VggtOptions& opts) const override {
    VggtOutput out = model_.forward(images, opts);
    cuda_synchronize();
    return out;
  }
  const char* name() const override { return "cuda"; }
  const char* precision() const override { return cuda::precision_name(model_.precision()); }
  Device device() const override { return model_.device(); }
  size_t peak_memory_bytes() const override { return cuda_peak_memory(model_.device().index); }

 private:
  CudaVggtModel model_;
};

}  // namespace

cuda::Precision resolve_precision(const std::string& p, const Device& d) {
  if (p == "auto") return default_cuda_precision(d);
  if (p == "fp32") return cuda::Precision::F32;
  if (p == "fp16") return cuda::Precision::F16;
  VG_CHECK(p == "bf16", "unknown precision '", p, "' (auto, fp32, bf16 or fp16)");
  for (const GpuInfo& g : list_gpus())
    if (g.index == d.index)
      VG_CHECK(g.cc_major >= 8, "--precision bf16 needs compute capability 8.0 or newer; ", d.str(), " (",
               g.name, ") is ", g.cc_major, ".", g.cc_minor, ": use fp16 or auto");
  return cuda::Precision::BF16;
}

std::unique_ptr<VggtEngine> make_vggt_engine(const VggtConfig& cfg, VggtWeights weights, const Device& device,
                                             const std::string& precision) {
  if (device.is_cpu()) {
    VG_CHECK(precision == "auto" || precision == "fp32", "VGGT: the CPU engine runs fp32 only (--precision '",
             precision, "' needs --device cuda)");
    return std::make_unique<CpuEngine>(cfg, std::move(weights));
  }
  const cuda::Precision p = resolve_precision(precision, device);
  cuda_reset_peak_memory(device.index);  // the peak counts the weights, as torch.cuda.max_memory_allocated
  return std::make_unique<CudaEngine>(cfg, weights, device, p);  // weights uploaded; the host copy goes here
}

}  // namespace vg::vggt
