// CPU-only builds: MCMCStrategy's CUDA launchers are clear errors.
#include "core/error.h"
#include "splat/mcmc_kernels.h"

namespace vg::detail {

void relocate_rows_cuda(const int32_t*, const int32_t*, int64_t, float, float*, float*) {
  VG_FAIL("MCMCStrategy: this vgsplat build has no CUDA backend");
}
void copy_rows_cuda(float*, int64_t, const int32_t*, const int32_t*, int64_t) {
  VG_FAIL("MCMCStrategy: this vgsplat build has no CUDA backend");
}
void zero_rows_cuda(float*, int64_t, const int32_t*, int64_t) {
  VG_FAIL("MCMCStrategy: this vgsplat build has no CUDA backend");
}
void inject_noise_cuda(int64_t, float*, const float*, const float*, const float*, float, uint64_t, int64_t) {
  VG_FAIL("MCMCStrategy: this vgsplat build has no CUDA backend");
}

}  // namespace vg::detail
