// Shared helpers for vgsplat tests: data locations, random tensors, error norms.
#pragma once
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"

namespace vg::test {

// ../shared/data, or $VGSPLAT_DATA (the device script points it at the carried copy).
inline std::filesystem::path data_dir() {
  if (const char* e = std::getenv("VGSPLAT_DATA")) return e;
  return VGSPLAT_SHARED_DATA;
}
inline std::filesystem::path source_dir() { return VGSPLAT_SOURCE_DIR; }

inline bool have_cuda() {
  for (const GpuInfo& g : list_gpus())
    if (g.supported) return true;
  return false;
}

inline Tensor uniform(const Shape& shape, float lo, float hi, std::mt19937& rng, Device d = Device::cpu()) {
  std::uniform_real_distribution<float> u(lo, hi);
  int64_t n = 1;
  for (auto s : shape) n *= s;
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(rng);
  return Tensor::from_vector(v, shape, d);
}

inline Tensor normal(const Shape& shape, float mean, float stddev, std::mt19937& rng, Device d = Device::cpu()) {
  std::normal_distribution<float> g(mean, stddev);
  int64_t n = 1;
  for (auto s : shape) n *= s;
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = g(rng);
  return Tensor::from_vector(v, shape, d);
}

// ||a - b|| / max(||b||, tiny), in double; NaN anywhere gives +inf.
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

inline std::vector<float> as_floats(const Tensor& t) {
  if (t.dtype() == DType::F32) return t.to_vector<float>();
  std::vector<float> out;
  if (t.dtype() == DType::I32)
    for (int32_t v : t.to_vector<int32_t>()) out.push_back(static_cast<float>(v));
  else if (t.dtype() == DType::I64)
    for (int64_t v : t.to_vector<int64_t>()) out.push_back(static_cast<float>(v));
  else
    for (uint8_t v : t.to_vector<uint8_t>()) out.push_back(v);
  return out;
}

}  // namespace vg::test
