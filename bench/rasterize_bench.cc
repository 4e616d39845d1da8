// Google Benchmark of the tile rasterizer: isect_tiles, forward and backward on a random scene,
// on the CPU reference and (when a usable GPU is present) CUDA. Usage: rasterize_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <random>

#include "core/cuda_memory.h"
#include "splat/rasterize.h"
#include "tests/raster_scene.h"

namespace {

using namespace vg;

test::SceneSpec bench_scene(int n, int w, int h) {
  return {.n = n, .width = w, .height = h, .min_scale = 0.8f, .max_scale = 5.f, .min_opacity = 0.05f,
          .max_opacity = 0.9f, .margin = 10.f, .background = {1.f, 1.f, 1.f}, .seed = 7};
}

struct Fixture {
  test::RasterScene s;
  TileIntersections isect;
  RasterOut fwd;
  Tensor v_colors, v_alphas;
  Fixture(Device d, int n, int w, int h) : s(test::make_scene(bench_scene(n, w, h), d)) {
    isect = isect_tiles(s.means2d, s.radii, s.depths, w, h);
    fwd = rasterize_forward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, w, h);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> vc(size_t(w) * h * 3), va(size_t(w) * h);
    for (auto& v : vc) v = u(rng);
    for (auto& v : va) v = u(rng);
    v_colors = Tensor::from_vector(vc, {h, w, 3}, d);
    v_alphas = Tensor::from_vector(va, {h, w}, d);
  }
};

void sync(Device d) {
  if (d.is_cuda()) cuda_synchronize();
}

void BM_Isect(benchmark::State& st, Device d, int n, int w, int h) {
  Fixture f(d, n, w, h);
  for (auto _ : st) {
    TileIntersections i = isect_tiles(f.s.means2d, f.s.radii, f.s.depths, w, h);
    sync(d);
    benchmark::DoNotOptimize(i.n_isects);
  }
  st.counters["isects"] = static_cast<double>(f.isect.n_isects);
}

void BM_Forward(benchmark::State& st, Device d, int n, int w, int h) {
  Fixture f(d, n, w, h);
  for (auto _ : st) {
    RasterOut o = rasterize_forward(f.s.means2d, f.s.conics, f.s.colors, f.s.opacities, f.s.background, f.isect, w, h);
    sync(d);
  }
  st.counters["isects"] = static_cast<double>(f.isect.n_isects);
}

void BM_Backward(benchmark::State& st, Device d, int n, int w, int h) {
  Fixture f(d, n, w, h);
  for (auto _ : st) {
    RasterGrads g = rasterize_backward(f.s.means2d, f.s.conics, f.s.colors, f.s.opacities, f.s.background, f.isect,
                                       w, h, f.fwd, f.v_colors, f.v_alphas, true);
    sync(d);
  }
  st.counters["isects"] = static_cast<double>(f.isect.n_isects);
}

void register_all() {
  struct Size {
    int n, w, h;
  };
  std::vector<std::pair<std::string, Device>> devices = {{"cpu", Device::cpu()}};
  for (const GpuInfo& g : list_gpus())
    if (g.supported) {
      devices.push_back({"cuda", Device::cuda(g.index)});
      break;
    }
  for (auto& [name, d] : devices) {
    std::vector<Size> sizes = {{5000, 200, 150}, {100000, 400, 400}};
    if (d.is_cuda()) sizes.push_back({500000, 800, 800});
    for (Size z : sizes) {
      std::string suffix = "/" + name + "/n=" + std::to_string(z.n) + "/" + std::to_string(z.w) + "x" +
                           std::to_string(z.h);
      benchmark::RegisterBenchmark(("isect" + suffix).c_str(), BM_Isect, d, z.n, z.w, z.h)->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("forward" + suffix).c_str(), BM_Forward, d, z.n, z.w, z.h)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("backward" + suffix).c_str(), BM_Backward, d, z.n, z.w, z.h)
          ->Unit(benchmark::kMicrosecond);
    }
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
