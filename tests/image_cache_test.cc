// splat/image_cache: 8-bit quantisation and back, the byte budget (least recently used dropped, decoded again),
// decoding ahead on the worker thread, errors from the loader, and a training whose result does not depend on
// the cache's budget or prefetching.
#include "splat/image_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/tensor_ops.h"
#include "pipeline/demo_scene.h"
#include "splat/trainer.h"
#include "temp_dir.h"
#include "test_util.h"

namespace vg {
namespace {

constexpr int kH = 24, kW = 32;

// A deterministic image per view: values spread over [0, 1] plus a few out of range.
Tensor view_image(int view) {
  Tensor t = Tensor::empty({kH, kW, 3});
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>((i * 7 + view * 131) % 300) / 280.0f - 0.03f;
  return t;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.numel(), b.numel());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const float want = std::min(std::max(b.data<float>()[i], 0.0f), 1.0f);
    m = std::max(m, std::abs(a.data<float>()[i] - want));
  }
  return m;
}

TEST(ImageCache, QuantisationRoundsClampsAndConvertsBack) {
  Tensor f = Tensor::from_vector(std::vector<float>{0.0f, 1.0f, 0.5f, -0.2f, 1.7f, 0.1f, std::nanf(""), 0.998f},
                                 {8});
  Tensor u8 = quantize_unorm8(f);
  const std::vector<uint8_t> want{0, 255, 128, 0, 255, 26, 0, 254};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(u8.data<uint8_t>()[i], want[static_cast<size_t>(i)]) << i;
  Tensor back = unorm8_to_f32(u8);
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(back.data<float>()[i], want[static_cast<size_t>(i)] / 255.0f);
}

TEST(ImageCache, ServesEveryViewWithinHalfAnEightBitStep) {
  std::atomic<int> loads{0};
  TrainImageCache cache(5, [&](int v) { ++loads; return view_image(v); }, {-1, 0});
  for (int round = 0; round < 3; ++round)
    for (int v = 0; v < 5; ++v) EXPECT_LE(max_abs_diff(cache.get(v, Device::cpu()), view_image(v)), 0.5f / 255 + 1e-6f);
  EXPECT_EQ(loads.load(), 5);  // the default budget holds them all: each decoded once
  const ImageCacheStats s = cache.stats();
  EXPECT_EQ(s.misses, 5);
  EXPECT_EQ(s.hits, 10);
  EXPECT_EQ(s.resident_bytes, 5 * kH * kW * 3);
}

TEST(ImageCache, BudgetDropsTheLeastRecentlyUsed) {
  const int64_t one = kH * kW * 3;
  std::atomic<int> loads{0};
  TrainImageCache cache(4, [&](int v) { ++loads; return view_image(v); }, {2 * one, 0});
  for (int v : {0, 1, 0, 2}) cache.get(v, Device::cpu());  // 2 evicts 1 (0 was used after 1)
  EXPECT_EQ(loads.load(), 3);
  cache.get(0, Device::cpu());
  EXPECT_EQ(loads.load(), 3);  // 0 still resident
  EXPECT_LE(max_abs_diff(cache.get(1, Device::cpu()), view_image(1)), 0.5f / 255 + 1e-6f);
  EXPECT_EQ(loads.load(), 4);  // 1 decoded again
  const ImageCacheStats s = cache.stats();
  EXPECT_EQ(s.evictions, 2);
  EXPECT_LE(s.peak_bytes, 2 * one);
  EXPECT_LE(s.resident_bytes, 2 * one);
}

TEST(ImageCache, PrefetchDecodesAheadOnTheWorkerThread) {
  std::mutex m;
  std::set<std::thread::id> threads;
  TrainImageCache cache(6, [&](int v) {
    { std::lock_guard<std::mutex> lk(m); threads.insert(std::this_thread::get_id()); }
    return view_image(v);
  }, {-1, 3});
  cache.prefetch({2, 4, 5});
  for (int i = 0; i < 500 && cache.stats().resident_bytes < 3 * kH * kW * 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  for (int v : {2, 4, 5}) EXPECT_LE(max_abs_diff(cache.get(v, Device::cpu()), view_image(v)), 0.5f / 255 + 1e-6f);
  EXPECT_EQ(cache.stats().hits, 3);
  EXPECT_EQ(cache.stats().misses, 0);
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(ImageCache, ZeroBudgetKeepsPrefetchedViewsUntilTaken) {
  std::atomic<int> loads{0};
  TrainImageCache cache(8, [&](int v) { ++loads; return view_image(v); }, {0, 4});
  cache.prefetch({0, 1, 2, 3});
  for (int v = 0; v < 4; ++v) EXPECT_LE(max_abs_diff(cache.get(v, Device::cpu()), view_image(v)), 0.5f / 255 + 1e-6f);
  EXPECT_EQ(loads.load(), 4);  // none dropped before get() took it
  EXPECT_LE(cache.stats().resident_bytes, kH * kW * 3);
}

TEST(ImageCache, LoaderErrorsReachGetAndAreRetried) {
  std::atomic<int> calls{0};
  std::atomic<bool> fail{true};
  TrainImageCache cache(3, [&](int v) -> Tensor {
    ++calls;
    if (v == 1 && fail) VG_FAIL("images/0001.jpg: not a JPEG file");
    return view_image(v);
  }, {-1, 2});
  cache.prefetch({1});  // fails on the worker
  for (int i = 0; i < 1000 && calls == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string err = test::error_of([&] { cache.get(1, Device::cpu()); });  // fails again in get()
  EXPECT_NE(err.find("not a JPEG"), std::string::npos) << err;
  EXPECT_GE(calls.load(), 2);
  fail = false;
  EXPECT_LE(max_abs_diff(cache.get(1, Device::cpu()), view_image(1)), 0.5f / 255 + 1e-6f);  // the retry works
  EXPECT_NE(test::error_of([&] { cache.get(3, Device::cpu()); }).find("out of range"), std::string::npos);
}

TEST(ImageCache, ConcurrentPrefetchAndGetUnderATinyBudget) {
  const int n = 16;
  TrainImageCache cache(n, [](int v) { return view_image(v); }, {3 * kH * kW * 3, 4});
  std::mt19937 rng(3);
  for (int step = 0; step < 400; ++step) {
    const int v = static_cast<int>(rng() % n);
    cache.prefetch({static_cast<int>(rng() % n), static_cast<int>(rng() % n), static_cast<int>(rng() % n)});
    ASSERT_LE(max_abs_diff(cache.get(v, Device::cpu()), view_image(v)), 0.5f / 255 + 1e-6f) << step;
  }
  EXPECT_LE(cache.stats().peak_bytes, (3 + 4 + 1) * kH * kW * 3);  // budget, or the prefetch window + the view in use
}

// The cache changes where images live, not what the trainer sees: the same model with any budget/prefetch.
TEST(ImageCache, TrainingDoesNotDependOnBudgetOrPrefetch) {
  test::TempDir dir{"image_cache_train"};
  demo::SceneOptions so;
  so.width = so.height = 32;
  so.n_train = 6;
  so.n_test = 2;
  demo::write_scene(dir.path / "data", so);
  auto train = [&](double gb, int prefetch, const std::string& name) {
    TrainConfig c = demo::train_config(dir.path / "data", dir.path / name, 100, "cpu");
    c.init_num_pts = 300;
    c.lpips_weights.clear();
    c.image_cache_gb = gb;
    c.image_prefetch = prefetch;
    Trainer t(c);
    t.set_verbose(false);
    t.run();
    return t.gaussians().means.to(Device::cpu());
  };
  const Tensor a = train(-1, 0, "a"), b = train(0, 3, "b");
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]) << i;
}

}  // namespace
}  // namespace vg
