// CPU-only builds: the tracker's fine-stage kernels (cuda_tracker_kernels.h) exist but refuse to run.
#include "core/error.h"
#include "tracks/cuda_tracker_kernels.h"

namespace vg::tracks::cuda::detail {

namespace {
[[noreturn]] void no_cuda(const char* op) { VG_FAIL("tracker CUDA op ", op, ": vgsplat was built without CUDA"); }
}  // namespace

void extract_patches(const float*, int64_t, int64_t, int64_t, const float*, int64_t, int64_t, int64_t, int, float*) {
  no_cuda("extract_patches");
}
void fine_queries(const float*, int64_t, int64_t, int64_t, int, float*) { no_cuda("fine_queries"); }
void fine_tracks(const float*, const float*, int64_t, int64_t, int64_t, int64_t, int, float*) {
  no_cuda("fine_tracks");
}

}  // namespace vg::tracks::cuda::detail
