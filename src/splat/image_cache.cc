#include "splat/image_cache.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/cuda_memory.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/tensor_ops.h"

namespace vg {

Tensor quantize_unorm8(const Tensor& f32) {
  VG_CHECK(f32.defined() && f32.dtype() == DType::F32 && f32.device().is_cpu(),
           "quantize_unorm8: needs an f32 CPU tensor");
  Tensor out = Tensor::empty(f32.shape(), DType::U8, Device::cpu());
  const float* in = f32.data<float>();
  uint8_t* o = out.data<uint8_t>();
  parallel_for(f32.numel(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float x = std::isnan(in[i]) ? 0.0f : std::min(std::max(in[i], 0.0f), 1.0f);
      o[i] = static_cast<uint8_t>(std::lround(x * 255.0f));
    }
  }, 1 << 16);
  return out;
}

int64_t default_image_budget_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return int64_t{8} << 30;
  return static_cast<int64_t>(pages) * page / 2;
}

TrainImageCache::TrainImageCache(int num_views, Loader load, ImageCacheOptions opt)
    : load_(std::move(load)),
      budget_(opt.budget_bytes < 0 ? default_image_budget_bytes() : opt.budget_bytes),
      prefetch_(std::max(opt.prefetch, 0)),
      entries_(static_cast<size_t>(std::max(num_views, 0))),
      gpu_budget_(opt.gpu_budget_bytes),
      gpu_u8_(static_cast<size_t>(std::max(num_views, 0))),
      gpu_use_(static_cast<size_t>(std::max(num_views, 0)), 0) {
  if (prefetch_ > 0) worker_ = std::thread([this] { worker(); });
}

TrainImageCache::~TrainImageCache() {
  {
    std::lock_guard<std::mutex> lk(m_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Tensor TrainImageCache::decode(int view) {
  const auto t0 = std::chrono::steady_clock::now();
  Tensor u8 = quantize_unorm8(load_(view));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::lock_guard<std::mutex> lk(m_);
  stats_.load_seconds += s;
  return u8;
}

// Called with the lock held: the view's image (or its error) becomes available to get().
void TrainImageCache::store(std::unique_lock<std::mutex>& lk, int view, Tensor u8, std::exception_ptr err) {
  Entry& e = entries_[static_cast<size_t>(view)];
  e.error = err;
  e.state = err ? State::Absent : State::Ready;
  if (!err) {
    evict_over_budget(view, static_cast<int64_t>(u8.nbytes()));  // room first: the peak stays within the budget
    e.u8 = std::move(u8);
    e.last_use = ++clock_;
    stats_.resident_bytes += static_cast<int64_t>(e.u8.nbytes());
    stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.resident_bytes);
  }
  (void)lk;
  cv_.notify_all();
}

// Least recently used first; never the view just stored nor a prefetched one not yet taken.
void TrainImageCache::evict_over_budget(int keep, int64_t incoming) {
  while (stats_.resident_bytes + incoming > budget_) {
    int victim = -1;
    for (size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      if (e.state != State::Ready || e.pinned || static_cast<int>(i) == keep) continue;
      if (victim < 0 || e.last_use < entries_[static_cast<size_t>(victim)].last_use) victim = static_cast<int>(i);
    }
    if (victim < 0) return;
    Entry& v = entries_[static_cast<size_t>(victim)];
    stats_.resident_bytes -= static_cast<int64_t>(v.u8.nbytes());
    v.u8 = Tensor();
    v.state = State::Absent;
    ++stats_.evictions;
  }
}

// Marks the view Loading, decodes it with the lock released, stores it (or its error); returns the error.
std::exception_ptr TrainImageCache::load_unlocked(std::unique_lock<std::mutex>& lk, int view) {
  entries_[static_cast<size_t>(view)].state = State::Loading;
  lk.unlock();
  Tensor u8;
  std::exception_ptr err;
  try {
    u8 = decode(view);
  } catch (...) {
    err = std::current_exception();
  }
  lk.lock();
  store(lk, view, std::move(u8), err);
  return err;
}

void TrainImageCache::worker() {
  std::unique_lock<std::mutex> lk(m_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    const int view = queue_.front();
    queue_.pop_front();
    Entry& e = entries_[static_cast<size_t>(view)];
    if (e.state != State::Queued) continue;  // get() took it meanwhile
    load_unlocked(lk, view);
  }
}

void TrainImageCache::prefetch(const std::vector<int>& views) {
  if (prefetch_ == 0) return;
  {
    std::lock_guard<std::mutex> lk(m_);
    // The new window replaces the old one: views no longer wanted are unpinned and leave the queue.
    for (int v : window_) entries_[static_cast<size_t>(v)].pinned = false;
    window_.clear();
    for (int v : views) {
      if (v < 0 || static_cast<size_t>(v) >= entries_.size() || static_cast<int>(window_.size()) >= prefetch_) continue;
      entries_[static_cast<size_t>(v)].pinned = true;
      window_.push_back(v);
    }
    for (int v : queue_)
      if (!entries_[static_cast<size_t>(v)].pinned && entries_[static_cast<size_t>(v)].state == State::Queued)
        entries_[static_cast<size_t>(v)].state = State::Absent;
    queue_.clear();
    for (int v : window_) {
      Entry& e = entries_[static_cast<size_t>(v)];
      if (e.state == State::Absent) e.state = State::Queued;
      if (e.state == State::Queued && std::find(queue_.begin(), queue_.end(), v) == queue_.end()) queue_.push_back(v);
    }
  }
  cv_.notify_all();
}

Tensor TrainImageCache::get(int view, Device device) {
  VG_CHECK(view >= 0 && static_cast<size_t>(view) < entries_.size(), "image cache: view ", view, " out of range");
  std::unique_lock<std::mutex> lk(m_);
  Entry& e = entries_[static_cast<size_t>(view)];
  if (e.state == State::Ready) {
    ++stats_.hits;
  } else {
    ++stats_.misses;
    if (e.state == State::Loading) {
      cv_.wait(lk, [&] { return e.state != State::Loading; });
    }
    if (e.state != State::Ready) {  // Absent (or Queued: decoded here instead of by the worker)
      if (std::exception_ptr err = load_unlocked(lk, view)) {
        e.pinned = false;
        std::rethrow_exception(err);
      }
    }
  }
  e.pinned = false;
  e.last_use = ++clock_;
  Tensor u8 = e.u8;  // shares the storage: an eviction meanwhile does not free it under us
  evict_over_budget(view, 0);
  lk.unlock();
  return unorm8_to_f32(device.is_cpu() ? u8 : device_u8(view, u8, device));
}

Tensor TrainImageCache::device_u8(int view, const Tensor& u8, Device device) {
  Tensor& d = gpu_u8_[static_cast<size_t>(view)];
  gpu_use_[static_cast<size_t>(view)] = ++gpu_clock_;
  if (d.defined() && d.device() == device) {
    ++gpu_hits_;
    return d;
  }
  ++gpu_uploads_;
  if (gpu_budget_ < 0) {  // auto: 1/8 of the GPU, at most 8 GiB
    size_t used = 0, total = 0;
    cuda_mem_info(device.index, &used, &total);
    gpu_budget_ = std::min<int64_t>(static_cast<int64_t>(total / 8), int64_t{8} << 30);
  }
  const int64_t bytes = static_cast<int64_t>(u8.nbytes());
  if (bytes > gpu_budget_) return u8.to(device);
  while (gpu_bytes_ + bytes > gpu_budget_) {  // drop the least recently used copy
    size_t lru = gpu_u8_.size();
    for (size_t i = 0; i < gpu_u8_.size(); ++i)
      if (gpu_u8_[i].defined() && static_cast<int>(i) != view && (lru == gpu_u8_.size() || gpu_use_[i] < gpu_use_[lru]))
        lru = i;
    if (lru == gpu_u8_.size()) break;
    gpu_bytes_ -= static_cast<int64_t>(gpu_u8_[lru].nbytes());
    gpu_u8_[lru] = Tensor();
  }
  if (d.defined()) gpu_bytes_ -= static_cast<int64_t>(d.nbytes());
  d = u8.to(device);
  gpu_bytes_ += bytes;
  return d;
}

ImageCacheStats TrainImageCache::stats() const {
  std::lock_guard<std::mutex> lk(m_);
  ImageCacheStats st = stats_;
  st.gpu_hits = gpu_hits_, st.gpu_uploads = gpu_uploads_, st.gpu_bytes = gpu_bytes_;
  return st;
}

}  // namespace vg
