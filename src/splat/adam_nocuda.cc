// CPU-only builds: the fused Adam CUDA launcher is a clear error.
#include "core/error.h"
#include "splat/adam_kernels.h"

namespace vg::detail {

void adam_step_cuda(float*, const float*, float*, float*, int64_t, const AdamScalars&) {
  VG_FAIL("adam_step: this vgsplat build has no CUDA backend");
}

}  // namespace vg::detail
