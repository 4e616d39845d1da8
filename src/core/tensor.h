// A minimal dense tensor: contiguous, row-major, on the CPU or one CUDA device. Ops in src/splat,
// src/metrics, ... take Tensors and dispatch on tensor.device() to their CPU reference or CUDA kernel.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/error.h"

namespace vg {

enum class DType : uint8_t { F32, I32, I64, U8 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, float value, Device device = Device::cpu());
  template <typename T>
  static Tensor from_vector(const std::vector<T>& v, const Shape& shape, Device device = Device::cpu());

  bool defined() const { return defined_; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t size(int d) const;  // negative d counts from the end
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool is_cuda() const { return device_.is_cuda(); }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T> T* data() { check_dtype(dtype_of<T>()); return static_cast<T*>(data_); }
  template <typename T> const T* data() const { check_dtype(dtype_of<T>()); return static_cast<const T*>(data_); }

  Tensor to(Device device) const;  // a copy on `device` (shares nothing)
  Tensor clone() const { return to(device_); }
  Tensor reshape(const Shape& shape) const;  // same storage, numel must match
  void zero_();
  void copy_from(const Tensor& src);  // same dtype and numel; any pair of devices
  template <typename T> std::vector<T> to_vector() const;  // host copy of the elements
  float item() const;                                      // the one F32 element, copied to the host

  // Throws vg::Error unless this tensor has the given shape (-1 = any) / dtype / device.
  void expect(const char* name, const Shape& shape, DType dtype = DType::F32) const;

 private:
  void check_dtype(DType t) const;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
  Device device_;
  bool defined_ = false;
};

}  // namespace vg
