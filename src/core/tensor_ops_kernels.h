// Internal: CUDA launchers behind core/tensor_ops.h (defined in tensor_ops.cu, or in
// tensor_ops_nocuda.cc as errors in CPU-only builds). C++17-clean: included by the .cu.
#pragma once
#include <cstdint>

namespace vg::detail {

// out[r, :] = src[ids[r], :] for r < n_out, rows of `row_bytes` bytes; an id outside [0, n_src) gives a zero row.
void index_select_rows_cuda(void* out, const void* src, const int32_t* ids, int64_t n_out, int64_t n_src,
                            int64_t row_bytes);
// p[i] = v for i < n.
void fill_f32_cuda(float* p, int64_t n, float v);
// p[i] = min(p[i], hi) for i < n.
void clamp_max_f32_cuda(float* p, int64_t n, float hi);
// out[i] = in[i] / 255 for i < n.
void axpy_f32_cuda(float* y, float a, const float* x, int64_t n);
void unorm8_to_f32_cuda(float* out, const uint8_t* in, int64_t n);

}  // namespace vg::detail
