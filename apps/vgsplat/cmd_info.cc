// `vgsplat info`: version, commit, compiled CUDA architectures and every visible GPU with whether
// this binary can run on it.
#include <cstdio>

#include "apps/vgsplat/commands.h"
#include "core/build_info.h"
#include "core/device.h"

namespace vg::app {

void register_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print version, build and GPU information");
  cmd->callback([] {
    std::printf("vgsplat %s (commit %s)\n", build_version(), build_git_commit());
    if (!cuda_compiled()) {
      std::printf("CUDA backend: not compiled in (CPU only)\n");
      return;
    }
    std::printf("CUDA backend: compiled for [%s]\n", cuda_archs_compiled().c_str());
    std::string drv = cuda_driver_version();
    std::printf("CUDA driver: %s\n", drv.empty() ? "none found" : drv.c_str());
    auto gpus = list_gpus();
    if (gpus.empty()) std::printf("GPUs: none visible (commands fall back to --device cpu)\n");
    for (const GpuInfo& g : gpus) {
      std::printf("GPU %d: %s, compute capability %d.%d, %.1f GiB, %d SMs: %s\n", g.index, g.name.c_str(),
                  g.cc_major, g.cc_minor, g.total_memory / 1073741824.0, g.multiprocessors,
                  g.supported ? "supported" : ("NOT supported: " + g.reason).c_str());
    }
  });
}

}  // namespace vg::app
