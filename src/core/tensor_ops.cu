// CUDA kernels for core/tensor_ops.h: row gather (dtype-agnostic, in the widest word that divides a row) fill, clamp and 8-bit to float.
#include <cstdint>

#include "core/cuda_check.h"
#include "core/tensor_ops_kernels.h"

namespace vg::detail {
namespace {

constexpr int kBlock = 256;

// One thread per word of the output; `row_words` words per row.
template <typename W>
__global__ void gather_rows_kernel(W* __restrict__ out, const W* __restrict__ src, const int32_t* __restrict__ ids,
                                   int64_t n_out, int64_t n_src, int64_t row_words) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_out * row_words) return;
  int64_t r = i / row_words, c = i - r * row_words;
  int32_t id = ids[r];
  out[i] = (id >= 0 && id < n_src) ? src[static_cast<int64_t>(id) * row_words + c] : W(0);
}

template <typename W>
void launch_gather(void* out, const void* src, const int32_t* ids, int64_t n_out, int64_t n_src, int64_t row_bytes) {
  int64_t row_words = row_bytes / static_cast<int64_t>(sizeof(W));
  gather_rows_kernel<W><<<grid_for(n_out * row_words, kBlock), kBlock>>>(
      static_cast<W*>(out), static_cast<const W*>(src), ids, n_out, n_src, row_words);
  VG_CUDA_CHECK_LAUNCH();
}

__global__ void fill_kernel(float* __restrict__ p, int64_t n, float v) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) p[i] = v;
}

__global__ void clamp_max_kernel(float* __restrict__ p, int64_t n, float hi) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n && p[i] > hi) p[i] = hi;
}

__global__ void axpy_kernel(float* __restrict__ y, float a, const float* __restrict__ x, int64_t n) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] += a * x[i];
}

__global__ void unorm8_to_f32_kernel(float* __restrict__ out, const uint8_t* __restrict__ in, int64_t n) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = static_cast<float>(in[i]) * (1.0f / 255.0f);
}

}  // namespace

void index_select_rows_cuda(void* out, const void* src, const int32_t* ids, int64_t n_out, int64_t n_src,
                            int64_t row_bytes) {
  if (n_out == 0 || row_bytes == 0) return;
  // Tensor storage is 64-byte aligned, so a row stride that is a multiple of the word keeps every access aligned.
  if (row_bytes % 8 == 0) launch_gather<uint64_t>(out, src, ids, n_out, n_src, row_bytes);
  else if (row_bytes % 4 == 0) launch_gather<uint32_t>(out, src, ids, n_out, n_src, row_bytes);
  else launch_gather<uint8_t>(out, src, ids, n_out, n_src, row_bytes);
}

void fill_f32_cuda(float* p, int64_t n, float v) {
  if (n == 0) return;
  fill_kernel<<<grid_for(n, kBlock), kBlock>>>(p, n, v);
  VG_CUDA_CHECK_LAUNCH();
}


void clamp_max_f32_cuda(float* p, int64_t n, float hi) {
  if (n == 0) return;
  clamp_max_kernel<<<grid_for(n, kBlock), kBlock>>>(p, n, hi);
  VG_CUDA_CHECK_LAUNCH();
}

void axpy_f32_cuda(float* y, float a, const float* x, int64_t n) {
  if (n == 0) return;
  axpy_kernel<<<grid_for(n, kBlock), kBlock>>>(y, a, x, n);
  VG_CUDA_CHECK_LAUNCH();
}

void unorm8_to_f32_cuda(float* out, const uint8_t* in, int64_t n) {
  if (n == 0) return;
  unorm8_to_f32_kernel<<<grid_for(n, kBlock), kBlock>>>(out, in, n);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace vg::detail
