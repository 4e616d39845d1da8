// VGSPLAT_MEMORY_CAP: the size parser and the cached cap (shared by the CUDA and CPU builds).
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/cuda_memory.h"

namespace vg {

size_t parse_memory_size(const std::string& text, const char* what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    VG_FAIL(what, ": expected a size such as 512M or 1.5G, got '", text, "'");
  }
  std::string unit = text.substr(used);
  double mult = 1;
  if (unit == "K" || unit == "k") mult = 1024.0;
  else if (unit == "M" || unit == "m") mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "g") mult = 1024.0 * 1024 * 1024;
  else VG_CHECK(unit.empty(), what, ": unknown unit '", unit, "' in '", text, "' (K, M or G)");
  VG_CHECK(std::isfinite(v) && v >= 0, what, ": expected a size >= 0, got '", text, "'");
  return static_cast<size_t>(v * mult);
}

size_t memory_cap_bytes() {
  static const size_t cap = [] {
    const char* env = std::getenv("VGSPLAT_MEMORY_CAP");
    return env && *env ? parse_memory_size(env, "VGSPLAT_MEMORY_CAP") : size_t{0};
  }();
  return cap;
}

}  // namespace vg
