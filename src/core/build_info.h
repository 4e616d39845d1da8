// Build facts baked in at configure time (kept out of compile definitions so a new commit
// recompiles one file, not the whole library).
#pragma once

namespace vg {
const char* build_version();      // "0.1.0"
const char* build_git_commit();   // short hash, or "unknown"
const char* build_cuda_archs();   // CMAKE_CUDA_ARCHITECTURES as built ("" without CUDA)
}  // namespace vg
