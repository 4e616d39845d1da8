// CPU-only builds: the bilateral grid's CUDA launchers are clear errors.
#include "core/error.h"
#include "splat/bilateral_grid_kernels.h"

namespace vg::detail {

void bilagrid_slice_cuda(const float*, BilagridDims, int, int, const float*, float*) {
  VG_FAIL("bilateral grid: this vgsplat build has no CUDA backend");
}
void bilagrid_slice_backward_cuda(const float*, BilagridDims, int, int, const float*, const float*, float*, float*) {
  VG_FAIL("bilateral grid: this vgsplat build has no CUDA backend");
}
void bilagrid_tv_cuda(const float*, int64_t, BilagridDims, float, float*, float*) {
  VG_FAIL("bilateral grid: this vgsplat build has no CUDA backend");
}

}  // namespace vg::detail
