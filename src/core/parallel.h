// parallel_for: the CPU reference backend's only threading primitive. Splits [0, n) into
// contiguous chunks over hardware threads (VGSPLAT_THREADS overrides the count).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace vg {

inline int num_threads() {
  static int n = [] {
    if (const char* e = std::getenv("VGSPLAT_THREADS")) {
      int v = std::atoi(e);
      if (v > 0) return v;
    }
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }();
  return n;
}

// Calls f(begin, end) on disjoint chunks covering [0, n). Chunks are at least `grain` long.
template <typename F>
void parallel_for(int64_t n, F&& f, int64_t grain = 1024) {
  if (n <= 0) return;
  int64_t nt = std::min<int64_t>(num_threads(), (n + grain - 1) / grain);
  if (nt <= 1) {
    f(int64_t{0}, n);
    return;
  }
  std::vector<std::thread> threads;
  std::exception_ptr err;
  std::mutex m;
  int64_t chunk = (n + nt - 1) / nt;
  for (int64_t t = 0; t < nt; ++t) {
    int64_t b = t * chunk, e = std::min(n, b + chunk);
    if (b >= e) break;
    threads.emplace_back([&, b, e] {
      try {
        f(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!err) err = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (err) std::rethrow_exception(err);
}

}  // namespace vg
