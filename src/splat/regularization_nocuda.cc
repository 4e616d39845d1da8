// CPU-only builds: the regulariser's CUDA launcher is a clear error.
#include "core/error.h"
#include "splat/regularization_kernels.h"

namespace vg::detail {

void opacity_scale_reg_cuda(int64_t, const float*, const float*, float, float, float*, float*, float*) {
  VG_FAIL("opacity/scale regularisation: this vgsplat build has no CUDA backend");
}

}  // namespace vg::detail
