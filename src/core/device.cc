#include "core/device.h"

#include <cstdlib>

#include "core/build_info.h"
#include "core/error.h"

namespace vg {

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

std::string cuda_archs_compiled() { return build_cuda_archs(); }

namespace {
std::string unsupported_message(const GpuInfo& g) {
  return detail::concat("GPU ", g.index, " (", g.name, ") has compute capability ", g.cc_major, ".",
                        g.cc_minor, ", but this vgsplat build has kernels only for [",
                        cuda_archs_compiled(), "]: ", g.reason,
                        ". Rebuild with -DCMAKE_CUDA_ARCHITECTURES including ", g.cc_major, g.cc_minor,
                        ", or use --device cpu.");
}
}  // namespace

Device resolve_device(const std::string& spec) {
  if (spec == "cpu") return Device::cpu();
  if (spec == "auto") {
    for (const GpuInfo& g : list_gpus())
      if (g.supported) return Device::cuda(g.index);
    return Device::cpu();
  }
  int index = 0;
  if (spec.rfind("cuda", 0) == 0) {
    std::string rest = spec.substr(4);
    if (!rest.empty()) {
      VG_CHECK(rest[0] == ':' && rest.size() > 1, "bad --device '", spec, "' (use auto, cpu, cuda or cuda:N)");
      char* end = nullptr;
      index = static_cast<int>(std::strtol(rest.c_str() + 1, &end, 10));
      VG_CHECK(*end == '\0' && index >= 0, "bad --device '", spec, "' (use auto, cpu, cuda or cuda:N)");
    }
  } else {
    VG_FAIL("bad --device '", spec, "' (use auto, cpu, cuda or cuda:N)");
  }
  VG_CHECK(cuda_compiled(), "--device ", spec, " asked for CUDA, but this vgsplat build has no CUDA backend "
           "(rebuild with the CUDA toolkit installed, or use --device cpu)");
  std::vector<GpuInfo> gpus = list_gpus();
  std::string driver = cuda_driver_version();
  VG_CHECK(!gpus.empty(), "--device ", spec, ": no CUDA GPU is visible (",
           driver.empty() ? std::string("no NVIDIA driver found") : "driver " + driver, "); use --device cpu");
  VG_CHECK(index < static_cast<int>(gpus.size()), "--device ", spec, ": only ", gpus.size(), " GPU(s) visible");
  VG_CHECK(gpus[index].supported, unsupported_message(gpus[index]));
  return Device::cuda(index);
}

}  // namespace vg
