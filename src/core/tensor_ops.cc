#include "core/tensor_ops.h"

#include <cstring>

#include "core/cuda_memory.h"
#include "core/parallel.h"
#include "core/tensor_ops_kernels.h"

namespace vg {
namespace {

int64_t row_bytes(const Tensor& t) {
  return t.size(0) == 0 ? 0 : static_cast<int64_t>(t.nbytes()) / t.size(0);
}

Shape with_rows(const Shape& s, int64_t rows) {
  Shape out = s;
  out[0] = rows;
  return out;
}

void index_select_rows_cpu(Tensor& out, const Tensor& t, const Tensor& ids) {
  const int32_t* id = ids.data<int32_t>();
  const int64_t n_src = t.size(0), rb = row_bytes(t);
  for (int64_t r = 0; r < ids.numel(); ++r)
    VG_CHECK(id[r] >= 0 && id[r] < n_src, "index_select_rows: id ", id[r], " out of range [0, ", n_src, ")");
  if (rb == 0) return;
  auto* dst = static_cast<char*>(out.raw());
  const auto* src = static_cast<const char*>(t.raw());
  parallel_for(ids.numel(), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) std::memcpy(dst + r * rb, src + id[r] * rb, static_cast<size_t>(rb));
  }, 4096);
}

}  // namespace

Tensor index_select_rows(const Tensor& t, const Tensor& ids) {
  VG_CHECK(t.defined() && t.ndim() >= 1, "index_select_rows: source must have at least one dimension");
  ids.expect("index_select_rows ids", {-1}, DType::I32);
  VG_CHECK(ids.device() == t.device(), "index_select_rows: ids on ", ids.device().str(), ", tensor on ",
           t.device().str());
  Tensor out = Tensor::empty(with_rows(t.shape(), ids.numel()), t.dtype(), t.device());
  if (out.numel() == 0) return out;
  if (t.is_cuda())
    detail::index_select_rows_cuda(out.raw(), t.raw(), ids.data<int32_t>(), ids.numel(), t.size(0), row_bytes(t));
  else
    index_select_rows_cpu(out, t, ids);
  return out;
}

Tensor cat_rows(const Tensor& a, const Tensor& b) {
  VG_CHECK(a.defined() && b.defined() && a.ndim() >= 1 && b.ndim() >= 1,
           "cat_rows: both tensors must be defined with at least one dimension");
  VG_CHECK(a.dtype() == b.dtype(), "cat_rows: dtypes ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  VG_CHECK(a.device() == b.device(), "cat_rows: devices ", a.device().str(), " and ", b.device().str());
  VG_CHECK(with_rows(a.shape(), 0) == with_rows(b.shape(), 0), "cat_rows: trailing shapes of ",
           shape_str(a.shape()), " and ", shape_str(b.shape()), " differ");
  Tensor out = Tensor::empty(with_rows(a.shape(), a.size(0) + b.size(0)), a.dtype(), a.device());
  // Contiguous row-major: concatenating along dim 0 is concatenating the two byte buffers.
  auto* dst = static_cast<char*>(out.raw());
  if (!a.is_cuda()) {
    if (a.nbytes()) std::memcpy(dst, a.raw(), a.nbytes());
    if (b.nbytes()) std::memcpy(dst + a.nbytes(), b.raw(), b.nbytes());
  } else {
    cuda_copy(dst, a.device(), a.raw(), a.device(), a.nbytes());  // device-to-device: asynchronous
    cuda_copy(dst + a.nbytes(), a.device(), b.raw(), b.device(), b.nbytes());
  }
  return out;
}

void fill_(Tensor& t, float v) {
  VG_CHECK(t.defined() && t.dtype() == DType::F32, "fill_: needs a defined f32 tensor");
  if (t.numel() == 0) return;
  if (t.is_cuda()) {
    detail::fill_f32_cuda(t.data<float>(), t.numel(), v);
    return;
  }
  float* p = t.data<float>();
  parallel_for(t.numel(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = v;
  }, 1 << 16);
}

void clamp_max_(Tensor& t, float hi) {
  VG_CHECK(t.defined() && t.dtype() == DType::F32, "clamp_max_: needs a defined f32 tensor");
  if (t.numel() == 0) return;
  if (t.is_cuda()) {
    detail::clamp_max_f32_cuda(t.data<float>(), t.numel(), hi);
    return;
  }
  float* p = t.data<float>();
  parallel_for(t.numel(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = p[i] > hi ? hi : p[i];
  }, 1 << 16);
}

void axpy_(Tensor& y, float a, const Tensor& x) {
  VG_CHECK(y.defined() && x.defined() && y.dtype() == DType::F32 && x.dtype() == DType::F32,
           "axpy_: needs defined f32 tensors");
  VG_CHECK(y.shape() == x.shape() && y.device() == x.device(), "axpy_: shapes or devices differ");
  if (y.numel() == 0) return;
  if (y.is_cuda()) {
    detail::axpy_f32_cuda(y.data<float>(), a, x.data<float>(), y.numel());
    return;
  }
  float* py = y.data<float>();
  const float* px = x.data<float>();
  parallel_for(y.numel(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) py[i] += a * px[i];
  }, 1 << 16);
}

Tensor unorm8_to_f32(const Tensor& t) {
  VG_CHECK(t.defined() && t.dtype() == DType::U8, "unorm8_to_f32: needs a defined u8 tensor");
  Tensor out = Tensor::empty(t.shape(), DType::F32, t.device());
  if (t.numel() == 0) return out;
  if (t.is_cuda()) {
    detail::unorm8_to_f32_cuda(out.data<float>(), t.data<uint8_t>(), t.numel());
    return out;
  }
  const uint8_t* in = t.data<uint8_t>();
  float* o = out.data<float>();
  parallel_for(t.numel(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i] = static_cast<float>(in[i]) * (1.0f / 255.0f);
  }, 1 << 16);
  return out;
}

}  // namespace vg
