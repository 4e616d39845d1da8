// CUDA kernels of the fused preprocess: one thread per Gaussian, forward and backward, running the
// same per-Gaussian math as the CPU reference (projection_math.h). Each thread writes only its own
// Gaussian's slots, so no atomics are needed. Default stream, no host synchronisation.
#include "core/cuda_check.h"
#include "splat/projection_math.h"

namespace vg::proj {
namespace {

constexpr int kBlock = 256;

__global__ void preprocess_forward_kernel(ParamPtrs p, View<float> v, Settings<float> s, ForwardPtrs o) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.n) return;
  forward_element(i, p, v, s, o);
}

__global__ void preprocess_backward_kernel(ParamPtrs p, View<float> v, Settings<float> s, BackwardInPtrs in,
                                           GradPtrs g) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= p.n) return;
  backward_element(i, p, v, s, in, g);
}

}  // namespace

void launch_forward_cuda(const ParamPtrs& p, const View<float>& v, const Settings<float>& s, const ForwardPtrs& o) {
  if (p.n == 0) return;
  preprocess_forward_kernel<<<grid_for(p.n, kBlock), kBlock>>>(p, v, s, o);
  VG_CUDA_CHECK_LAUNCH();
}

void launch_backward_cuda(const ParamPtrs& p, const View<float>& v, const Settings<float>& s,
                          const BackwardInPtrs& in, const GradPtrs& g) {
  if (p.n == 0) return;
  preprocess_backward_kernel<<<grid_for(p.n, kBlock), kBlock>>>(p, v, s, in, g);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace vg::proj
