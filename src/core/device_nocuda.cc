// Device queries in a build without the CUDA backend: no GPU can be used.
#include "core/device.h"

namespace vg {
bool cuda_compiled() { return false; }
std::string cuda_driver_version() { return ""; }
std::vector<GpuInfo> list_gpus() { return {}; }
void set_current_device(const Device&) {}
}  // namespace vg
