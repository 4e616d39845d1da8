// parallel_for: the CPU reference backend's threading primitive. Splits [0, n) into contiguous chunks over
// hardware threads (VGSPLAT_THREADS overrides the count). parallel_dynamic: items of very different cost.
#pragma once
#include <algorithm>
#include <atomic>
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

// Calls f(i) for i in [0, n) on `workers` threads, handing out indices one by one (images and
// pairs differ a lot in cost). The first exception is rethrown after all workers stop.
template <typename F>
void parallel_dynamic(int n, int workers, F&& f) {
  if (n <= 0) return;
  workers = std::max(1, std::min(workers, n));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr err;
  std::mutex m;
  auto loop = [&] {
    for (int i = next++; i < n && !failed; i = next++) {
      try {
        f(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!err) err = std::current_exception();
        failed = true;
      }
    }
  };
  if (workers == 1) {
    loop();
  } else {
    std::vector<std::thread> threads;
    for (int t = 0; t < workers; ++t) threads.emplace_back(loop);
    for (auto& t : threads) t.join();
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace vg
