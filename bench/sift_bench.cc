// Google Benchmark of SIFT extraction on a 1600 px photo (fountain-P11 0000 resampled to 1600x1067; a synthetic
// texture when the data are absent) and of brute-force matching of its descriptors against a second photo, on
// the CPU and (when a usable GPU is present) CUDA. Data: $VGSPLAT_DATA, else ../shared/data.
// Usage: sift_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/cuda_memory.h"
#include "features/matching.h"
#include "features/sift.h"
#ifndef VGSPLAT_SHARED_DATA  // test_util.h's data_dir() needs them; benchmarks read data_root() instead
#define VGSPLAT_SHARED_DATA "../shared/data"
#define VGSPLAT_SOURCE_DIR "."
#endif
#include "tests/features_util.h"

namespace {

using namespace vg;

std::filesystem::path data_root() {
  if (const char* e = std::getenv("VGSPLAT_DATA")) return e;
  return "../shared/data";
}

// Bilinear resample to width w (keeps the aspect ratio).
Image resample(const Image& src, int w) {
  const int h = static_cast<int>(std::lround(double(src.height) * w / src.width));
  Image out{w, h, src.channels, std::vector<float>(static_cast<size_t>(w) * h * src.channels)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float fx = std::clamp((x + 0.5f) * src.width / w - 0.5f, 0.0f, src.width - 1.0f);
      float fy = std::clamp((y + 0.5f) * src.height / h - 0.5f, 0.0f, src.height - 1.0f);
      int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
      int x1 = std::min(x0 + 1, src.width - 1), y1 = std::min(y0 + 1, src.height - 1);
      float ax = fx - x0, ay = fy - y0;
      for (int c = 0; c < src.channels; ++c)
        out.at(y, x, c) = (1 - ay) * ((1 - ax) * src.at(y0, x0, c) + ax * src.at(y0, x1, c)) +
                          ay * ((1 - ax) * src.at(y1, x0, c) + ax * src.at(y1, x1, c));
    }
  return out;
}

const Image& photo(const char* name) {
  static std::map<std::string, Image> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const auto p = data_root() / "strecha/fountain-P11/images" / name;
  Image img = std::filesystem::exists(p) ? resample(read_image(p), 1600) : test::textured_image(1600, 1067, 1);
  return cache.emplace(name, std::move(img)).first->second;
}

void BM_Extract(benchmark::State& state, Device d) {
  const Image& img = photo("0000.jpg");
  size_t n = 0;
  for (auto _ : state) {
    FeatureSet f = extract_sift(img, SiftOptions{}, d);
    n = f.keypoints.size();
  }
  state.counters["keypoints"] = static_cast<double>(n);
}

void BM_Match(benchmark::State& state, Device d) {
  static const FeatureSet a = extract_sift(photo("0000.jpg"), SiftOptions{}),
                          b = extract_sift(photo("0001.jpg"), SiftOptions{});
  size_t n = 0;
  for (auto _ : state) n = match_descriptors(a.descriptors, b.descriptors, MatchOptions{}, d).size();
  state.counters["matches"] = static_cast<double>(n);
  state.counters["descriptors"] = static_cast<double>(a.keypoints.size());
}

void register_all() {
  std::vector<std::pair<std::string, Device>> devices = {{"cpu", Device::cpu()}};
  for (const GpuInfo& g : list_gpus())
    if (g.supported) {
      devices.push_back({"cuda", Device::cuda(g.index)});
      break;
    }
  for (auto& [name, d] : devices) {
    benchmark::RegisterBenchmark(("sift_extract_1600px/" + name).c_str(), BM_Extract, d)
        ->Unit(benchmark::kMillisecond)->MinTime(2.0);
    benchmark::RegisterBenchmark(("match_brute_force/" + name).c_str(), BM_Match, d)
        ->Unit(benchmark::kMillisecond)->MinTime(1.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
