// MCMCStrategy's CUDA kernels: relocation correction of the sampled rows, row copies / zeroing for the
// parameters and Adam moments, and the noise step on the means. One thread per row (or element); the row
// sets are duplicate-free, so no two threads write the same entry.
#include <array>
#include <mutex>

#include "core/cuda_launch.cuh"
#include "splat/mcmc_kernels.h"

namespace vg::detail {
namespace {

// C(n, k) of eq. 9 (gsplat's binoms table, in double), uploaded once per device.
__constant__ double c_binoms[kRelocNMax * kRelocNMax];

void ensure_binoms() {
  static std::mutex m;
  static std::array<bool, 128> uploaded{};
  int dev = 0;
  VG_CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(m);
  if (dev < 0 || dev >= static_cast<int>(uploaded.size()) || uploaded[dev]) return;
  double table[kRelocNMax * kRelocNMax];
  fill_binomial_table(table);
  VG_CUDA_CHECK(cudaMemcpyToSymbol(c_binoms, table, sizeof table));
  uploaded[dev] = true;
}

__global__ void relocate_rows_kernel(const int32_t* __restrict__ ids, const int32_t* __restrict__ ratios, int64_t m,
                                     float min_opacity, float* __restrict__ opacities, float* __restrict__ scales) {
  VG_GRID_STRIDE(k, m) relocate_row(ids[k], ratios[k], c_binoms, min_opacity, opacities, scales);
}

__global__ void copy_rows_kernel(float* __restrict__ data, int64_t row_elems, const int32_t* __restrict__ dst,
                                 const int32_t* __restrict__ src, int64_t total) {
  VG_GRID_STRIDE(e, total) {
    const int64_t k = e / row_elems, j = e % row_elems;
    data[dst[k] * row_elems + j] = data[src[k] * row_elems + j];
  }
}

__global__ void zero_rows_kernel(float* __restrict__ data, int64_t row_elems, const int32_t* __restrict__ ids,
                                 int64_t total) {
  VG_GRID_STRIDE(e, total) data[ids[e / row_elems] * row_elems + e % row_elems] = 0.0f;
}

__global__ void noise_kernel(int64_t n, float* __restrict__ means, const float* __restrict__ scales,
                             const float* __restrict__ quats, const float* __restrict__ opacities, float noise_scale,
                             uint64_t key, int64_t step) {
  VG_GRID_STRIDE(i, n) noise_row(i, means, scales, quats, opacities, noise_scale, key, step);
}

}  // namespace

void relocate_rows_cuda(const int32_t* ids, const int32_t* ratios, int64_t m, float min_opacity, float* opacities,
                        float* scales) {
  if (m <= 0) return;
  ensure_binoms();
  VG_LAUNCH(relocate_rows_kernel, m, ids, ratios, m, min_opacity, opacities, scales);
}

void copy_rows_cuda(float* data, int64_t row_elems, const int32_t* dst, const int32_t* src, int64_t m) {
  VG_LAUNCH(copy_rows_kernel, m * row_elems, data, row_elems, dst, src, m * row_elems);
}

void zero_rows_cuda(float* data, int64_t row_elems, const int32_t* ids, int64_t m) {
  VG_LAUNCH(zero_rows_kernel, m * row_elems, data, row_elems, ids, m * row_elems);
}

void inject_noise_cuda(int64_t n, float* means, const float* scales, const float* quats, const float* opacities,
                       float noise_scale, uint64_t key, int64_t step) {
  VG_LAUNCH(noise_kernel, n, n, means, scales, quats, opacities, noise_scale, key, step);
}

}  // namespace vg::detail
