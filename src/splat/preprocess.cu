// CUDA kernels of the fused preprocess: one thread per Gaussian, forward and backward, running the
// same per-Gaussian math as the CPU reference (projection_math.h). Each thread writes only its own
// Gaussian's slots, so no atomics are needed, except the optional viewmat gradient (pose
// optimisation): summed over the block by warp shuffles and shared memory, then 12 atomics per block.
// Default stream, no host synchronisation.
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

// The same, plus the block's sum of d loss / d viewmat added to g.viewmat (12 entries, R then t).
__global__ void preprocess_backward_viewmat_kernel(ParamPtrs p, View<float> v, Settings<float> s, BackwardInPtrs in,
                                                   GradPtrs g) {
  constexpr int kWarps = kBlock / 32;
  __shared__ float part[kWarps][12];
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  float acc[12];
  for (int k = 0; k < 12; ++k) acc[k] = 0.f;
  if (i < p.n) backward_element(i, p, v, s, in, g, acc);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int k = 0; k < 12; ++k) {
    float x = acc[k];
    for (int off = 16; off > 0; off >>= 1) x += __shfl_down_sync(0xffffffffu, x, off);
    if (lane == 0) part[warp][k] = x;
  }
  __syncthreads();
  if (warp != 0) return;
  for (int k = 0; k < 12; ++k) {
    float x = lane < kWarps ? part[lane][k] : 0.f;
    for (int off = 16; off > 0; off >>= 1) x += __shfl_down_sync(0xffffffffu, x, off);
    if (lane == 0 && x != 0.f) atomicAdd(g.viewmat + viewmat_index(k), x);
  }
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
  if (g.viewmat)
    preprocess_backward_viewmat_kernel<<<grid_for(p.n, kBlock), kBlock>>>(p, v, s, in, g);
  else
    preprocess_backward_kernel<<<grid_for(p.n, kBlock), kBlock>>>(p, v, s, in, g);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace vg::proj
