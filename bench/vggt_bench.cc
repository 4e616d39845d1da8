// VGGT CUDA engine benchmark and full-size parity check (no Google Benchmark API: one forward is seconds).
//   vggt_bench --weights DIR/model.safetensors [--fixture DIR/vggt_full_io.safetensors]
//              [--frames 1,8,32,60,100] [--reps 5] [--precision bf16|fp16|fp32] [--size 518]
// With --fixture (tools/vggt_fixtures.py --full: official PyTorch fp32 outputs on 4 frames), the fp32 and the
// 16-bit paths are compared with it (relative L2 of depth, depth_conf, pose_enc, extrinsics). Then for each frame
// count: random images, one warm-up, median seconds of `reps` forwards (aggregator + camera + depth heads,
// synchronised) and the pool's peak memory (core/cuda_memory.h cuda_peak_memory, weights included).
// One JSON line per measurement on stdout.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/cuda_memory.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "vggt/cuda_model.h"
#include "vggt/weights.h"

namespace {

using namespace vg;
using namespace vg::vggt;

double rel_error(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to(Device::cpu()).to_vector<float>(), y = b.to_vector<float>();
  if (x.size() != y.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    num += d * d;
    den += static_cast<double>(y[i]) * y[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

void parity(const VggtWeights& w, const std::string& fixture, cuda::Precision p) {
  SafetensorsFile io = SafetensorsFile::open(fixture);
  const VggtConfig cfg;
  CudaVggtModel model(cfg, w, Device::cuda(0), p);
  const VggtOutput out = model.forward(io.get("images"));
  const std::pair<const char*, const Tensor*> items[] = {{"depth", &out.depth},
                                                         {"depth_conf", &out.depth_conf},
                                                         {"pose_enc", &out.pose_enc},
                                                         {"extrinsics", &out.extrinsics},
                                                         {"dino_patch_tokens", &out.dino_patch_tokens}};
  for (const auto& [name, t] : items)
    if (io.contains(name))
      std::printf("{\"parity\": \"%s\", \"output\": \"%s\", \"rel_err\": %.3e}\n", cuda::precision_name(p), name,
                  rel_error(*t, io.get(name)));
  std::fflush(stdout);
}

void bench(const VggtWeights& w, cuda::Precision p, int S, int size, int reps) {
  const VggtConfig cfg;
  cuda_synchronize();
  cuda_reset_peak_memory(0);
  CudaVggtModel model(cfg, w, Device::cuda(0), p);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> im(static_cast<size_t>(S) * 3 * size * size);
  for (float& v : im) v = u(rng);
  const Tensor images = Tensor::from_vector(im, {S, 3, size, size}, Device::cuda(0));
  model.forward(images);  // warm-up
  cuda_synchronize();
  std::vector<double> secs;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    VggtOutput out = model.forward(images);
    cuda_synchronize();
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(secs.begin(), secs.end());
  std::printf("{\"engine\": \"vgsplat\", \"precision\": \"%s\", \"frames\": %d, \"median_s\": %.4f, \"peak_gb\": %.2f}\n",
              cuda::precision_name(p), S, secs[secs.size() / 2], cuda_peak_memory(0) / 1e9);
  std::fflush(stdout);
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  for (std::string tok; std::getline(ss, tok, ',');) v.push_back(std::stoi(tok));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string weights, fixture, frames = "1,8,32,60,100", prec = "bf16";
  int reps = 5, size = 518;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--weights") weights = v;
    else if (k == "--fixture") fixture = v;
    else if (k == "--frames") frames = v;
    else if (k == "--reps") reps = std::stoi(v);
    else if (k == "--precision") prec = v;
    else if (k == "--size") size = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    VG_CHECK(!weights.empty(), "vggt_bench: --weights FILE is required (tools/vggt_fixtures.py --full writes one)");
    const cuda::Precision p = prec == "fp32" ? cuda::Precision::F32 : prec == "fp16" ? cuda::Precision::F16
                                                                                     : cuda::Precision::BF16;
    const VggtWeights w = load_weights(weights, VggtConfig{}, false);
    if (!fixture.empty()) {
      parity(w, fixture, cuda::Precision::F32);
      parity(w, fixture, p);
    }
    for (int S : parse_list(frames)) bench(w, p, S, size, reps);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vggt_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
