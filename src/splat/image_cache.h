// The training images on the host as 8-bit RGB, as gsplat's data loader keeps them (a quarter of f32), within
// a byte budget: the least recently used are dropped and decoded again when needed, and the views of the next
// steps are decoded ahead on a worker thread so that the GPU does not wait for JPEG decoding. Big scenes
// (1-2k images of 1-2 MP) then fit in host memory. On a GPU the 8-bit images are also kept resident within a
// device budget (least recently used dropped): an upload is a host synchronisation that stalls the step's
// kernels behind it, so a scene that fits (lego 48 MB, fox 90 MB) is uploaded once.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"

namespace vg {

struct ImageCacheOptions {
  int64_t budget_bytes = -1;  // host bytes for decoded images; -1: half the machine's memory
  int prefetch = 4;           // views decoded ahead of the step that needs them (0: decode on demand)
  int64_t gpu_budget_bytes = -1;  // device bytes for 8-bit copies; -1: 1/8 of the GPU's memory, at most 8 GiB; 0: none
};

struct ImageCacheStats {
  int64_t hits = 0, misses = 0, evictions = 0;  // misses: get() had to decode (or wait for) the image
  int64_t gpu_hits = 0, gpu_uploads = 0, gpu_bytes = 0;  // the device copies (gpu_bytes: resident now)
  int64_t resident_bytes = 0, peak_bytes = 0;
  double load_seconds = 0;  // decoding time, worker and get() together
};

// round(clamp(x, 0, 1) * 255) of an F32 CPU tensor, as U8 (the 8-bit image a loader would have read).
Tensor quantize_unorm8(const Tensor& f32);
// Half of the machine's physical memory (the default budget).
int64_t default_image_budget_bytes();

class TrainImageCache {
 public:
  using Loader = std::function<Tensor(int)>;  // view -> F32 [H,W,3] in [0,1] on the CPU
  TrainImageCache(int num_views, Loader load, ImageCacheOptions opt);
  ~TrainImageCache();
  TrainImageCache(const TrainImageCache&) = delete;
  TrainImageCache& operator=(const TrainImageCache&) = delete;

  // F32 [H,W,3] in [0,1] on `device` (the 8-bit image uploaded, then converted there).
  Tensor get(int view, Device device);
  // Queues the next views to decode (the first `prefetch` of them; resident ones are skipped); they are kept
  // until get() takes them or the next call names other views.
  void prefetch(const std::vector<int>& views);
  ImageCacheStats stats() const;
  int64_t budget_bytes() const { return budget_; }

 private:
  enum class State { Absent, Queued, Loading, Ready };
  struct Entry {
    State state = State::Absent;
    Tensor u8;
    uint64_t last_use = 0;
    bool pinned = false;  // prefetched, not yet taken by get()
    std::exception_ptr error;
  };
  void worker();
  Tensor decode(int view);                                // outside the lock
  void store(std::unique_lock<std::mutex>& lk, int view, Tensor u8, std::exception_ptr err);
  std::exception_ptr load_unlocked(std::unique_lock<std::mutex>& lk, int view);
  void evict_over_budget(int keep, int64_t incoming);
  Tensor device_u8(int view, const Tensor& u8, Device device);  // the resident copy, made (or refreshed) here

  Loader load_;
  int64_t budget_;
  int prefetch_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;
  std::deque<int> queue_;
  std::vector<int> window_;  // the views of the last prefetch() (pinned until get() takes them)
  uint64_t clock_ = 0;
  bool stop_ = false;
  ImageCacheStats stats_;
  std::thread worker_;
  // device copies (main thread only)
  int64_t gpu_budget_;
  std::vector<Tensor> gpu_u8_;
  std::vector<uint64_t> gpu_use_;
  uint64_t gpu_clock_ = 0;
  int64_t gpu_hits_ = 0, gpu_uploads_ = 0, gpu_bytes_ = 0;
};

}  // namespace vg
