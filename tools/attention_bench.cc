// attention_bench: VGGT's attention kernels on one GPU.
// (1) Correctness: flash_attention in bf16, fp16 (the tensor-core kernels: FlashAttention-2 from the row layout, and
//     on sm_90a the wgmma kernel from its swizzled layout) and fp32 on fresh random
//     q, k, v against a float64 CPU reference of the same (16-bit-rounded) inputs; the output is poisoned with NaN
//     first. Small shapes are checked on every row, the benchmark shapes on sampled rows.
// (2) Speed: CUDA-event median of the tensor-core kernel (bf16 and fp16) on VGGT-1B's global attention (B = 1,
//     H = 16, D = 64, N = 1374 S for S = 8, 32, 60) and frame attention (B = 60, N = 1374), and of the fp32 kernel
//     once. FLOPs = 4 B H N^2 D. Prints a table last.
//   attention_bench [reps=10] [seed=<random>]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "vggt/cuda_ops.h"
#if VGSPLAT_HAS_CUDA
#include <cuda_runtime.h>
#endif

using namespace vg;
namespace vc = vg::vggt::cuda;

#if VGSPLAT_HAS_CUDA
namespace {

#define CK(x)                                                                          \
  do {                                                                                 \
    cudaError_t e_ = (x);                                                              \
    if (e_ != cudaSuccess) {                                                           \
      std::fprintf(stderr, "CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
      std::exit(1);                                                                    \
    }                                                                                  \
  } while (0)

float bf16_to_float(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
float half_to_float(uint16_t h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  float v = e == 0 ? std::ldexp(static_cast<float>(m), -24)
                   : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(static_cast<float>(m | 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

// q, k, v [BH, N, D] on the device in the kernel's input type; host copies of the values the kernel reads.
struct Inputs {
  int64_t BH = 0, N = 0;
  int D = 0;
  vc::Precision p = vc::Precision::F32;
  Tensor q, k, v;  // layout `layout`
  std::vector<float> hq, hk, hv;
  vc::AttnLayout layout = vc::AttnLayout::kRows;
};

// The same inputs re-laid for layout l on the device.
Inputs relaid(const Inputs& in, vc::AttnLayout l) {
  if (l == in.layout) return in;
  Inputs r = in;
  r.layout = l;
  const int64_t n = in.BH * vc::attention_rows(in.N, l) * in.D;
  for (int which = 0; which < 3; ++which) {
    Tensor t = Tensor::empty({n * 2}, DType::U8, Device::cuda(0));
    const Tensor& src = which == 0 ? in.q : which == 1 ? in.k : in.v;
    vc::attention_relayout(src.raw(), t.raw(), in.BH, in.N, in.D, l);
    (which == 0 ? r.q : which == 1 ? r.k : r.v) = t;
  }
  return r;
}

// Sum of two uniforms (a triangular, roughly normal law, sd ~ 0.8 * scale): fast enough for 10^8 values.
struct Rng {
  uint64_t s;
  float next() {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    const float a = static_cast<float>(s >> 40) * (1.0f / 16777216.0f);
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    const float b = static_cast<float>(s >> 40) * (1.0f / 16777216.0f);
    return (a + b - 1.0f) * 2.0f;
  }
};

Inputs make_inputs(int64_t BH, int64_t N, int D, vc::Precision p, uint64_t seed, float qk_scale) {
  Inputs in{BH, N, D, p, {}, {}, {}, {}, {}, {}, vc::AttnLayout::kRows};
  const int64_t n = BH * N * D;
  Rng rng{seed * 0x9E3779B97F4A7C15ull + 1};
  for (int which = 0; which < 3; ++which) {
    std::vector<float> h(static_cast<size_t>(n));
    const float sc = which < 2 ? qk_scale : 1.0f;
    for (auto& x : h) x = rng.next() * sc;
    Tensor f = Tensor::from_vector(h, {n}, Device::cuda(0));
    Tensor dev = f;
    if (p != vc::Precision::F32) {
      dev = Tensor::empty({n * 2}, DType::U8, Device::cuda(0));
      vc::convert_weights(f.data<float>(), dev.raw(), n, p);
      std::vector<uint16_t> bits(static_cast<size_t>(n));
      CK(cudaMemcpy(bits.data(), dev.raw(), n * 2, cudaMemcpyDeviceToHost));
      for (int64_t i = 0; i < n; ++i) h[i] = p == vc::Precision::BF16 ? bf16_to_float(bits[i]) : half_to_float(bits[i]);
    }
    (which == 0 ? in.q : which == 1 ? in.k : in.v) = dev;
    (which == 0 ? in.hq : which == 1 ? in.hk : in.hv) = std::move(h);
  }
  return in;
}

struct Check {
  double rel = 0, max_abs = 0;
  int64_t nonfinite = 0, rows = 0;
};

// flash_attention on `in`, output [B, N, H*D] poisoned first; rows: every row when sample == 0, else `sample` random
// (bh, row) pairs and the very last row.
Check check(const Inputs& in, int64_t B, int H, int sample, uint64_t seed) {
  const int64_t N = in.N, D = in.D, C = H * D;
  Tensor out = Tensor::empty({B, N, C}, DType::F32, Device::cuda(0));
  CK(cudaMemset(out.raw(), 0xFF, out.nbytes()));  // NaN
  vc::flash_attention(in.q.raw(), in.k.raw(), in.v.raw(), out.data<float>(), B, H, N, static_cast<int>(D), in.p,
                      in.layout);
  CK(cudaDeviceSynchronize());
  std::vector<float> o(static_cast<size_t>(out.numel()));
  CK(cudaMemcpy(o.data(), out.raw(), out.nbytes(), cudaMemcpyDeviceToHost));
  Check c;
  for (float x : o) c.nonfinite += !std::isfinite(x);
  std::vector<std::pair<int64_t, int64_t>> rows;  // (bh, i)
  if (sample == 0) {
    for (int64_t bh = 0; bh < B * H; ++bh)
      for (int64_t i = 0; i < N; ++i) rows.push_back({bh, i});
  } else {
    std::mt19937_64 r(seed);
    for (int s = 0; s < sample; ++s) rows.push_back({static_cast<int64_t>(r() % (B * H)), static_cast<int64_t>(r() % N)});
    rows.push_back({B * H - 1, N - 1});  // the last row of the last (partial) block
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  double num = 0, den = 0;
  std::vector<double> s(static_cast<size_t>(N)), acc(static_cast<size_t>(D));
  for (auto [bh, i] : rows) {
    const float* q = in.hq.data() + (bh * N + i) * D;
    const float* k = in.hk.data() + bh * N * D;
    const float* v = in.hv.data() + bh * N * D;
    double mx = -INFINITY;
    for (int64_t j = 0; j < N; ++j) {
      double d = 0;
      for (int64_t e = 0; e < D; ++e) d += static_cast<double>(q[e]) * k[j * D + e];
      s[j] = d * scale;
      mx = std::max(mx, s[j]);
    }
    double l = 0;
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t j = 0; j < N; ++j) {
      const double pj = std::exp(s[j] - mx);
      l += pj;
      for (int64_t e = 0; e < D; ++e) acc[e] += pj * v[j * D + e];
    }
    const int64_t b = bh / H, h = bh % H;
    for (int64_t e = 0; e < D; ++e) {
      const double ref = acc[e] / l, got = o[(b * N + i) * C + h * D + e];
      num += (got - ref) * (got - ref);
      den += ref * ref;
      c.max_abs = std::max(c.max_abs, std::fabs(got - ref));
      if (!std::isfinite(got)) c.max_abs = INFINITY;
    }
  }
  c.rel = std::sqrt(num / std::max(den, 1e-300));
  c.rows = static_cast<int64_t>(rows.size());
  return c;
}

// The layouts to run for (D, p): the row layout (FlashAttention-2 / fp32 kernels), plus the device's own if it differs.
std::vector<vc::AttnLayout> layouts(int D, vc::Precision p) {
  std::vector<vc::AttnLayout> ls{vc::AttnLayout::kRows};
  if (vc::attention_layout(D, p) != vc::AttnLayout::kRows) ls.push_back(vc::attention_layout(D, p));
  return ls;
}
const char* kname(vc::AttnLayout l) { return l == vc::AttnLayout::kRows ? "fa2" : "sm90"; }

double median_ms(const std::function<void()>& f, int reps) {
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  f();
  f();
  CK(cudaDeviceSynchronize());
  std::vector<float> ms;
  for (int r = 0; r < reps; ++r) {
    CK(cudaEventRecord(a));
    f();
    CK(cudaEventRecord(b));
    CK(cudaEventSynchronize(b));
    float t = 0;
    CK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  CK(cudaGetLastError());
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 10;
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : std::random_device{}();
  cudaDeviceProp prop{};
  CK(cudaGetDeviceProperties(&prop, 0));
  std::printf("attention_bench on %s (sm_%d%d, %d SMs), seed %llu, reps %d\n", prop.name, prop.major, prop.minor,
              prop.multiProcessorCount, static_cast<unsigned long long>(seed), reps);
  std::vector<std::string> table;
  char line[256];
  bool ok = true;
  auto pname = [](vc::Precision p) { return vc::precision_name(p); };

  // (1) correctness, every row, small shapes; qk_scale 3 gives peaky softmax rows (max rescaling exercised).
  std::printf("\n== correctness (float64 reference; rel = |out - ref| / |ref|)\n");
  struct Small { int64_t B; int H; int64_t N; int D; float qk; };
  const Small smalls[] = {{2, 3, 300, 64, 1.0f}, {1, 2, 1000, 64, 1.0f}, {1, 2, 1000, 64, 3.0f}, {2, 2, 77, 64, 1.0f},
                          {1, 2, 1, 64, 1.0f},   {3, 4, 131, 16, 1.0f}, {1, 4, 300, 32, 1.0f}, {1, 2, 70, 128, 1.0f},
                          {1, 2, 333, 128, 1.0f}};
  uint64_t sd = seed;
  for (vc::Precision p : {vc::Precision::BF16, vc::Precision::F16, vc::Precision::F32}) {
    if (p == vc::Precision::BF16 && prop.major < 8) continue;
    for (const Small& s : smalls) {
      const Inputs in0 = make_inputs(s.B * s.H, s.N, s.D, p, ++sd, s.qk);
      for (vc::AttnLayout l : layouts(s.D, p)) {
        const Check c = check(relaid(in0, l), s.B, s.H, 0, sd);
        const double tol = p == vc::Precision::F32 ? 1e-5 : 2e-2;
        const bool pass = c.nonfinite == 0 && c.rel < tol;
        ok = ok && pass;
        std::snprintf(line, sizeof line,
                      "check %-4s %-4s B%lld H%d N%-5lld D%-3d qk%.0f rel %.3e max_abs %.3e nonfinite %lld %s", pname(p),
                      kname(l), static_cast<long long>(s.B), s.H, static_cast<long long>(s.N), s.D, s.qk, c.rel,
                      c.max_abs, static_cast<long long>(c.nonfinite), pass ? "ok" : "FAIL");
        std::printf("%s\n", line);
        std::fflush(stdout);
        table.push_back(line);
      }
    }
  }

  // (2) speed on the VGGT-1B shapes (+ sampled-row correctness on each).
  std::printf("\n== speed (median of %d, CUDA events)\n", reps);
  struct Shape { const char* name; int64_t B; int H; int64_t N; };
  const Shape shapes[] = {{"global S=8", 1, 16, 1374 * 8}, {"global S=32", 1, 16, 1374 * 32},
                          {"global S=60", 1, 16, 1374 * 60}, {"frame S=60", 60, 16, 1374}};
  for (const Shape& sh : shapes) {
    for (vc::Precision p : {vc::Precision::BF16, vc::Precision::F16}) {
      if (p == vc::Precision::BF16 && prop.major < 8) continue;
      const Inputs in0 = make_inputs(sh.B * sh.H, sh.N, 64, p, ++sd, 1.0f);
      for (vc::AttnLayout l : layouts(64, p)) {
        const Inputs in = relaid(in0, l);
        Tensor out = Tensor::empty({sh.B, sh.N, sh.H * 64}, DType::F32, Device::cuda(0));
        const double flops = 4.0 * sh.B * sh.H * static_cast<double>(sh.N) * sh.N * 64;
        const Check c = check(in, sh.B, sh.H, 24, sd);
        const bool pass = c.nonfinite == 0 && c.rel < 2e-2;
        ok = ok && pass;
        const double ms = median_ms(
            [&] {
              vc::flash_attention(in.q.raw(), in.k.raw(), in.v.raw(), out.data<float>(), sh.B, sh.H, sh.N, 64, p, l);
            },
            reps);
        std::snprintf(line, sizeof line, "speed %-12s %-4s %-4s %9.3f ms %7.1f TFLOP/s  (sampled rel %.2e %s)",
                      sh.name, pname(p), kname(l), ms, flops / ms * 1e-9, c.rel, pass ? "ok" : "FAIL");
        std::printf("%s\n", line);
        std::fflush(stdout);
        table.push_back(line);
      }
    }
  }
  {  // the exact fp32 kernel, for scale
    const Shape sh{"global S=8", 1, 16, 1374 * 8};
    const Inputs in = make_inputs(sh.B * sh.H, sh.N, 64, vc::Precision::F32, ++sd, 1.0f);
    Tensor out = Tensor::empty({sh.B, sh.N, sh.H * 64}, DType::F32, Device::cuda(0));
    const double flops = 4.0 * sh.B * sh.H * static_cast<double>(sh.N) * sh.N * 64;
    const double ms = median_ms(
        [&] {
          vc::flash_attention(in.q.raw(), in.k.raw(), in.v.raw(), out.data<float>(), sh.B, sh.H, sh.N, 64,
                              vc::Precision::F32, vc::AttnLayout::kRows);
        },
        std::max(3, reps / 3));
    std::snprintf(line, sizeof line, "speed %-12s fp32 %9.3f ms %7.1f TFLOP/s  (exact fp32 kernel)", sh.name, ms,
                  flops / ms * 1e-9);
    std::printf("%s\n", line);
    table.push_back(line);
  }
  std::printf("\n== table\n");
  for (const auto& t : table) std::printf("%s\n", t.c_str());
  std::printf("%s\n", ok ? "ALL OK" : "SOME CHECKS FAILED");
  return ok ? 0 : 1;
}

#else
int main() {
  std::printf("attention_bench: vgsplat was built without CUDA\n");
  return 0;
}
#endif
