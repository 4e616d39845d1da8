// CPU-only builds: the keypoint detectors' CUDA launchers exist but refuse to run.
#include "core/error.h"
#include "tracks/cuda_keypoint_kernels.h"

namespace vg::tracks::cuda {

namespace {
[[noreturn]] void no_cuda(const char* op) { VG_FAIL("keypoints ", op, ": vgsplat was built without CUDA"); }
}  // namespace

void image_to_gray(const float*, int64_t, int64_t, int64_t, float*) { no_cuda("image_to_gray"); }
void image_to_padded_rgb(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float*) {
  no_cuda("image_to_padded_rgb");
}
void cell_softmax_to_pixels(const float*, int64_t, int64_t, float*) { no_cuda("cell_softmax_to_pixels"); }
void simple_nms(const float*, int64_t, int64_t, int, float*, float*) { no_cuda("simple_nms"); }
void zero_border(float*, int64_t, int64_t, int) { no_cuda("zero_border"); }
void threshold_candidates(const float*, int64_t, int64_t, int, float, int32_t*, float*, int32_t*) {
  no_cuda("threshold_candidates");
}
void selu(float*, int64_t) { no_cuda("selu"); }
void sigmoid(float*, int64_t) { no_cuda("sigmoid"); }
void avg_pool(const float*, int64_t, int64_t, int64_t, int, float*) { no_cuda("avg_pool"); }
void crop(const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, float*) { no_cuda("crop"); }
void deform_im2col(const float*, int64_t, int64_t, int64_t, const float*, int, int, int, int, float, int64_t, int64_t,
                   int64_t, float*) {
  no_cuda("deform_im2col");
}

}  // namespace vg::tracks::cuda
