// Small statistics helpers shared by the geometry code.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

namespace vg {

// The value at rank floor(q * n) of v (nearest rank; 0 for an empty v).
inline double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace vg
