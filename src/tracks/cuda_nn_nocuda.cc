// CPU-only builds: the track-source CNN launchers (cuda_nn_kernels.h) exist but refuse to run.
#include "core/error.h"
#include "tracks/cuda_nn_kernels.h"

namespace vg::tracks::cuda::detail {

namespace {
[[noreturn]] void no_cuda(const char* op) { VG_FAIL("track-source CUDA op ", op, ": vgsplat was built without CUDA"); }
}  // namespace

void im2col_rows(const float*, int64_t, int64_t, int64_t, int64_t, int, int, int, int64_t, int64_t, int64_t, int64_t,
                 void*, vggt::cuda::Precision) {
  no_cuda("im2col_rows");
}
int64_t instance_norm_scratch_bytes(int64_t, int64_t, int64_t) { return 0; }
void instance_norm(float*, int64_t, int64_t, int64_t, float, bool, void*) { no_cuda("instance_norm"); }
void batch_norm(float*, int64_t, int64_t, const float*, const float*, const float*, const float*, float) {
  no_cuda("batch_norm");
}
void bilinear(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, float, float, float*) {
  no_cuda("bilinear");
}
void max_pool(const float*, int64_t, int64_t, int64_t, int64_t, int, int, int, int64_t, int64_t, float*) {
  no_cuda("max_pool");
}
void nchw_to_nhwc(const float*, int64_t, int64_t, int64_t, int64_t, float*) { no_cuda("nchw_to_nhwc"); }
void nhwc_to_nchw(const float*, int64_t, int64_t, int64_t, int64_t, float*) { no_cuda("nhwc_to_nchw"); }

}  // namespace vg::tracks::cuda::detail
