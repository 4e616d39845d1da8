// Error type and checks used across vgsplat: every user-facing failure is a vg::Error whose
// message is one line naming what failed (and the file, where there is one).
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace vg {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

// Throws vg::Error with the streamed arguments: VG_CHECK(n > 0, "bad count ", n).
#define VG_CHECK(cond, ...)                                   \
  do {                                                        \
    if (!(cond)) throw ::vg::Error(::vg::detail::concat(__VA_ARGS__)); \
  } while (0)

#define VG_FAIL(...) throw ::vg::Error(::vg::detail::concat(__VA_ARGS__))

}  // namespace vg
