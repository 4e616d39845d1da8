// CPU-only builds: DefaultStrategy's CUDA launchers are clear errors.
#include "core/error.h"
#include "splat/strategy_kernels.h"

namespace vg::detail {

void accumulate_grad2d_cuda(const float*, const int32_t*, int64_t, float, float, float*, float*) {
  VG_FAIL("DefaultStrategy: this vgsplat build has no CUDA backend");
}
void refine_flags_cuda(const float*, const float*, const float*, const float*, int64_t, const RefineThresholds&,
                       uint8_t*) {
  VG_FAIL("DefaultStrategy: this vgsplat build has no CUDA backend");
}

}  // namespace vg::detail
