#include "core/tensor.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/cuda_memory.h"

namespace vg {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
  }
  return "?";
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << "]";
  return os.str();
}

namespace {
int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    VG_CHECK(d >= 0, "negative tensor dimension in ", shape_str(s));
    n *= d;
  }
  return n;
}
std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

std::atomic<size_t> g_host_bytes{0};  // held by host tensors (VGSPLAT_MEMORY_CAP applies to it too)

std::shared_ptr<void> host_alloc(size_t bytes, const Shape& shape, DType dtype) {
  const size_t cap = memory_cap_bytes();
  void* p = cap && g_host_bytes.load() + bytes > cap ? nullptr : std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p)
    throw OutOfMemory("out of host memory: " + mib(bytes) + " asked for a " + dtype_name(dtype) + " " +
                      shape_str(shape) + " tensor with " + mib(g_host_bytes.load()) + " held by tensors" +
                      (cap ? " (VGSPLAT_MEMORY_CAP " + mib(cap) + ")" : ""));
  g_host_bytes += bytes;
  return std::shared_ptr<void>(p, [bytes](void* q) {
    std::free(q);
    g_host_bytes -= bytes;
  });
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.shape_ = shape;
  t.numel_ = count(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  t.defined_ = true;
  size_t bytes = t.nbytes();
  if (bytes == 0) return t;
  if (device.is_cpu()) {
    t.storage_ = host_alloc(bytes, shape, dtype);
  } else {
    int dev = device.index;
    void* p = nullptr;
    try {
      p = cuda_alloc(bytes, dev);
    } catch (const OutOfMemory& e) {
      throw OutOfMemory(std::string(e.what()) + " for a " + dtype_name(dtype) + " " + shape_str(shape) + " tensor");
    }
    t.storage_ = std::shared_ptr<void>(p, [dev](void* q) { cuda_free(q, dev); });
  }
  t.data_ = t.storage_.get();
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  std::vector<float> v(static_cast<size_t>(count(shape)), value);
  return from_vector(v, shape, device);
}

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& v, const Shape& shape, Device device) {
  VG_CHECK(static_cast<int64_t>(v.size()) == count(shape), "from_vector: ", v.size(),
           " values for shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>(), device);
  if (t.nbytes()) {
    if (device.is_cpu()) std::memcpy(t.data_, v.data(), t.nbytes());
    else cuda_copy(t.data_, device, v.data(), Device::cpu(), t.nbytes());
  }
  return t;
}

int64_t Tensor::size(int d) const {
  int n = ndim();
  if (d < 0) d += n;
  VG_CHECK(d >= 0 && d < n, "tensor dim ", d, " out of range for shape ", shape_str(shape_));
  return shape_[d];
}

Tensor Tensor::to(Device device) const {
  Tensor t = empty(shape_, dtype_, device);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  VG_CHECK(count(shape) == numel_, "reshape ", shape_str(shape_), " -> ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

void Tensor::zero_() {
  if (!nbytes()) return;
  if (device_.is_cpu()) std::memset(data_, 0, nbytes());
  else cuda_memset_zero(data_, nbytes());
}

void Tensor::copy_from(const Tensor& src) {
  VG_CHECK(src.dtype_ == dtype_ && src.numel_ == numel_, "copy_from: ", dtype_name(src.dtype_),
           shape_str(src.shape_), " into ", dtype_name(dtype_), shape_str(shape_));
  if (!nbytes()) return;
  if (device_.is_cpu() && src.device_.is_cpu()) std::memcpy(data_, src.data_, nbytes());
  else cuda_copy(data_, device_, src.data_, src.device_, nbytes());
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  check_dtype(dtype_of<T>());
  std::vector<T> v(static_cast<size_t>(numel_));
  if (!nbytes()) return v;
  if (device_.is_cpu()) std::memcpy(v.data(), data_, nbytes());
  else cuda_copy(v.data(), Device::cpu(), data_, device_, nbytes());
  return v;
}

float Tensor::item() const {
  VG_CHECK(numel_ == 1, "item() on a tensor of shape ", shape_str(shape_));
  return to_vector<float>()[0];
}

void Tensor::expect(const char* name, const Shape& shape, DType dtype) const {
  bool ok = dtype_ == dtype && shape.size() == shape_.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || shape[i] == shape_[i];
  VG_CHECK(ok, name, ": expected ", dtype_name(dtype), shape_str(shape), ", got ", dtype_name(dtype_),
           shape_str(shape_));
}

void Tensor::check_dtype(DType t) const {
  VG_CHECK(t == dtype_, "tensor of dtype ", dtype_name(dtype_), " accessed as ", dtype_name(t));
}

#define VG_INSTANTIATE(T)                                                                   \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&, Device); \
  template std::vector<T> Tensor::to_vector<T>() const;
VG_INSTANTIATE(float)
VG_INSTANTIATE(int32_t)
VG_INSTANTIATE(int64_t)
VG_INSTANTIATE(uint8_t)
#undef VG_INSTANTIATE

}  // namespace vg
