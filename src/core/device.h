// Compute devices: the CPU reference backend and CUDA GPUs, parsed from --device auto|cpu|cuda[:N].
#pragma once
#include <string>
#include <vector>

namespace vg {

struct Device {
  enum class Kind { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  static Device cpu() { return {Kind::CPU, 0}; }
  static Device cuda(int i = 0) { return {Kind::CUDA, i}; }
  bool is_cpu() const { return kind == Kind::CPU; }
  bool is_cuda() const { return kind == Kind::CUDA; }
  bool operator==(const Device& o) const { return kind == o.kind && (is_cpu() || index == o.index); }
  std::string str() const;
};

struct GpuInfo {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  size_t total_memory = 0;
  int multiprocessors = 0;
  bool supported = false;   // this binary has kernels (SASS or PTX) it can run on this GPU
  std::string reason;       // why not, when !supported
};

// True when the library was compiled with the CUDA backend.
bool cuda_compiled();
// Architectures compiled in, as CMake lists them ("75-real 80-real ... 90-virtual"); empty without CUDA.
std::string cuda_archs_compiled();
// CUDA driver version as "13.0" or "" when no driver is present.
std::string cuda_driver_version();
// Every visible GPU, with whether this build can run on it. Empty without CUDA or without a driver.
std::vector<GpuInfo> list_gpus();

// Parses "auto", "cpu", "cuda", "cuda:N". "auto" picks the first usable GPU, else the CPU.
// A CUDA device that this build cannot serve throws vg::Error naming its compute capability and
// the compiled architectures.
Device resolve_device(const std::string& spec);
// Makes `d` the current CUDA device (no-op on CPU).
void set_current_device(const Device& d);

}  // namespace vg
