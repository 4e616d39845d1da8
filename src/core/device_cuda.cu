// GPU enumeration and the "can this binary run here" check (CUDA builds).
#include <sstream>
#include <string>
#include <vector>

#include "core/build_info.h"
#include "core/cuda_check.h"
#include "core/device.h"

namespace vg {
namespace {

__global__ void probe_kernel(int* p) {
  if (p) *p = 1;
}

struct Arch {
  int sm;
  bool real;
};

std::vector<Arch> parse_archs(const std::string& s) {
  std::vector<Arch> out;
  std::istringstream is(s);
  std::string tok;
  while (is >> tok) {
    int sm = std::stoi(tok);
    if (tok.find("-virtual") != std::string::npos) {
      out.push_back({sm, false});
    } else if (tok.find("-real") != std::string::npos) {
      out.push_back({sm, true});
    } else {  // plain "90" = real + virtual
      out.push_back({sm, true});
      out.push_back({sm, false});
    }
  }
  return out;
}

// SASS for sm_XY runs on the same major with minor >= Y; PTX for compute_XY is JIT-compiled for any cc >= XY.
std::string match_reason(int major, int minor) {
  int cc = major * 10 + minor;
  for (const Arch& a : parse_archs(build_cuda_archs())) {
    if (a.real && a.sm / 10 == major && a.sm % 10 <= minor) return "";
    if (!a.real && a.sm <= cc) return "";
  }
  return "no SASS for sm_" + std::to_string(cc) + " and no PTX for an older architecture";
}

}  // namespace

bool cuda_compiled() { return true; }

std::string cuda_driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess || v == 0) return "";
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::vector<GpuInfo> list_gpus() {
  std::vector<GpuInfo> out;
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return out;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    GpuInfo g;
    g.index = i;
    g.name = p.name;
    g.cc_major = p.major;
    g.cc_minor = p.minor;
    g.total_memory = p.totalGlobalMem;
    g.multiprocessors = p.multiProcessorCount;
    g.reason = match_reason(p.major, p.minor);
    g.supported = g.reason.empty();
    if (g.supported) {  // confirm with the runtime: it must find an image for this device
      int prev = 0;
      cudaGetDevice(&prev);
      cudaSetDevice(i);
      cudaFuncAttributes attr{};
      cudaError_t e = cudaFuncGetAttributes(&attr, probe_kernel);
      if (e != cudaSuccess) {
        g.supported = false;
        g.reason = std::string("the CUDA runtime found no kernel image (") + cudaGetErrorName(e) + ")";
        cudaGetLastError();
      }
      cudaSetDevice(prev);
    }
    out.push_back(g);
  }
  return out;
}

void set_current_device(const Device& d) {
  if (d.is_cuda()) VG_CUDA_CHECK(cudaSetDevice(d.index));
}

}  // namespace vg
