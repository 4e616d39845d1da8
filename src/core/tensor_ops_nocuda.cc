// CPU-only builds: the CUDA launchers of core/tensor_ops.h are clear errors.
#include "core/error.h"
#include "core/tensor_ops_kernels.h"

namespace vg::detail {

void index_select_rows_cuda(void*, const void*, const int32_t*, int64_t, int64_t, int64_t) {
  VG_FAIL("index_select_rows: this vgsplat build has no CUDA backend");
}
void fill_f32_cuda(float*, int64_t, float) { VG_FAIL("fill_: this vgsplat build has no CUDA backend"); }
void clamp_max_f32_cuda(float*, int64_t, float) { VG_FAIL("clamp_max_: this vgsplat build has no CUDA backend"); }
void axpy_f32_cuda(float*, float, const float*, int64_t) { VG_FAIL("axpy_: this vgsplat build has no CUDA backend"); }
void unorm8_to_f32_cuda(float*, const uint8_t*, int64_t) {
  VG_FAIL("unorm8_to_f32: this vgsplat build has no CUDA backend");
}

}  // namespace vg::detail
