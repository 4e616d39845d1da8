// Backend-op cases for the CUDA track predictor (tracks/cuda_predictor.h) against the CPU fp32 engine
// (detail::track_predictor): its multi-head attention kernel alone (separate query / key lengths, strided rows) vs a
// plain softmax-attention loop, and whole BaseTrackerPredictor forwards with small random weights of the published
// structure (a coarse one with space attention, B = 1 and 2; a fine one with B = 3 batch elements), in fp32 and
// bf16, compared on every iteration's coordinates, the visibility and the final motion (coordinates minus the
// query), which is far more sensitive than the coordinates themselves.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "io/state_dict.h"
#include "tests/backend_ops.h"
#include "tests/test_util.h"
#include "tracks/cuda_predictor.h"
#include "tracks/tracker.h"
#include "tracks/tracker_internal.h"
#if VGSPLAT_HAS_CUDA
#include "tracks/cuda_predictor_kernels.h"
#endif

namespace vg::test {
namespace {

using vggt::cuda::Precision;

// softmax(q k^T / sqrt(D)) v on the host, per sequence m and head h (row layout as tracks::cuda::mha).
Tensor attention_reference(const Tensor& qb, int64_t q_off, int64_t q_ld, const Tensor& kvb, int64_t E, int64_t M,
                           int H, int64_t Lq, int64_t Lk, int D) {
  Tensor out = Tensor::zeros({M * Lq, E});
  const float* q = qb.data<float>() + q_off;
  const float* kv = kvb.data<float>();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  std::vector<double> p(static_cast<size_t>(Lk));
  for (int64_t m = 0; m < M; ++m)
    for (int h = 0; h < H; ++h)
      for (int64_t i = 0; i < Lq; ++i) {
        const float* qr = q + (m * Lq + i) * q_ld + h * D;
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < Lk; ++j) {
          const float* kr = kv + (m * Lk + j) * 2 * E + h * D;
          double s = 0;
          for (int d = 0; d < D; ++d) s += static_cast<double>(qr[d] * scale) * kr[d];
          p[j] = s;
          mx = std::max(mx, s);
        }
        for (int64_t j = 0; j < Lk; ++j) sum += (p[j] = std::exp(p[j] - mx));
        float* o = out.data<float>() + (m * Lq + i) * E + h * D;
        for (int d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < Lk; ++j) acc += p[j] * kv[(m * Lk + j) * 2 * E + E + h * D + d];
          o[d] = static_cast<float>(acc / sum);
        }
      }
  return out;
}

// q rows of ld E + 8 starting at column 8, k / v interleaved as a cross-attention kv GEMM output [M*Lk, 2E].
OpOutputs run_mha(Device dev, int64_t M, int H, int64_t Lq, int64_t Lk, int D, unsigned seed) {
  std::mt19937 rng(seed);
  const int64_t E = static_cast<int64_t>(H) * D, q_ld = E + 8;
  Tensor qb = normal({M * Lq, q_ld}, 0.f, 1.f, rng), kv = normal({M * Lk, 2 * E}, 0.f, 1.f, rng);
  if (dev.is_cpu()) return {{"out", attention_reference(qb, 8, q_ld, kv, E, M, H, Lq, Lk, D)}};
#if VGSPLAT_HAS_CUDA
  Tensor qd = qb.to(dev), kvd = kv.to(dev), out = Tensor::empty({M * Lq, E}, DType::F32, dev);
  const float* k = kvd.data<float>();
  tracks::cuda::mha(qd.data<float>() + 8, q_ld, k, k + E, 2 * E, out.data<float>(), E, M, H, Lq, Lk, D);
  return {{"out", out}};
#else
  return {};
#endif
}

bool ends_with(const std::string& s, const std::string& t) {
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

// Random weights of one predictor (prefix "coarse_predictor" / "fine_predictor") by the official key names:
// linears U(+-1/sqrt(fan_in)), norms around 1, and the flow head's coordinate rows scaled by 1/64 as the fixture
// script's tame_coordinate_heads (untamed random trackers are chaotic, so fp32 rounding would not stay small).
StateDict predictor_weights(const std::string& prefix, const tracks::TrackPredictorConfig& cfg, unsigned seed) {
  tracks::TrackerConfig tc;
  (prefix == "fine_predictor" ? tc.fine : tc.coarse) = cfg;
  std::mt19937 rng(seed);
  StateDict sd;
  for (const auto& [name, shape] : tracks::tracker_params(tc)) {
    if (name.rfind(prefix + ".", 0) != 0) continue;
    Tensor t;
    if (name.find("norm") != std::string::npos && ends_with(name, "weight"))
      t = uniform(shape, 0.8f, 1.2f, rng);
    else if (shape.size() == 2)
      t = uniform(shape, -1.f / std::sqrt(static_cast<float>(shape[1])), 1.f / std::sqrt(static_cast<float>(shape[1])),
                  rng);
    else if (ends_with(name, "virual_tracks"))
      t = normal(shape, 0.f, 1.f, rng);
    else
      t = uniform(shape, -0.1f, 0.1f, rng);
    if (ends_with(name, "flow_head.weight") || ends_with(name, "flow_head.bias"))
      for (int64_t k = 0; k < 2 * (t.numel() / shape[0]); ++k) t.data<float>()[k] /= 64.0f;
    sd.tensors[name] = t;
  }
  return sd;
}

// [C,H,W] frames of fmaps [B,S,C,h,w] -> [B,S,h,w,C].
Tensor to_nhwc(const Tensor& x) {
  const int64_t F = x.size(0) * x.size(1), C = x.size(2), HW = x.size(3) * x.size(4);
  Tensor y = Tensor::empty({x.size(0), x.size(1), x.size(3), x.size(4), C});
  for (int64_t f = 0; f < F; ++f)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i) y.data<float>()[(f * HW + i) * C + c] = x.data<float>()[(f * C + c) * HW + i];
  return y;
}

Tensor slice0(const Tensor& t, int64_t i) {  // t[i] (a copy)
  Shape s(t.shape().begin() + 1, t.shape().end());
  Tensor out = Tensor::empty(s);
  std::copy(t.data<float>() + i * out.numel(), t.data<float>() + (i + 1) * out.numel(), out.data<float>());
  return out;
}

Tensor stack(const std::vector<Tensor>& ts) {
  Shape s = ts[0].shape();
  s.insert(s.begin(), static_cast<int64_t>(ts.size()));
  Tensor out = Tensor::empty(s);
  for (size_t i = 0; i < ts.size(); ++i)
    std::copy(ts[i].data<float>(), ts[i].data<float>() + ts[i].numel(), out.data<float>() + i * ts[i].numel());
  return out;
}

// coords [B,S,N,2] minus frame 0's (the query): the predicted motion, a stricter measure than the coordinates.
Tensor motion(const Tensor& coords_any) {
  Tensor c = coords_any.to(Device::cpu()), m = Tensor::empty(c.shape());
  const int64_t B = c.size(0), S = c.size(1), N2 = c.size(2) * 2;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t i = 0; i < N2; ++i)
        m.data<float>()[(b * S + s) * N2 + i] = c.data<float>()[(b * S + s) * N2 + i] - c.data<float>()[b * S * N2 + i];
  return m;
}

struct PredictorCase {
  std::string prefix;
  tracks::TrackPredictorConfig cfg;
  int64_t B, N, S, h, w;
  int iters, down_ratio;
};

// CPU: one detail::track_predictor per batch element, stacked; CUDA: one CudaTrackPredictor forward.
OpOutputs run_predictor(Device dev, const PredictorCase& pc, Precision p, unsigned seed) {
  const StateDict sd = predictor_weights(pc.prefix, pc.cfg, seed);
  std::mt19937 rng(seed + 1);
  const int64_t L = pc.cfg.latent_dim;
  Tensor fmaps = normal({pc.B, pc.S, L, pc.h, pc.w}, 0.f, 1.f, rng);
  const float scale = static_cast<float>(pc.cfg.stride * std::max(pc.down_ratio, 1));
  // Query points over the image (a little beyond its border too: border padding).
  Tensor query = uniform({pc.B, pc.N, 2}, -2.f, static_cast<float>(pc.w) * scale + 2.f, rng);
  for (int64_t i = 0; i < pc.B * pc.N; ++i)
    query.data<float>()[2 * i + 1] = std::uniform_real_distribution<float>(-2.f, pc.h * scale + 2.f)(rng);
  OpOutputs out;
  if (dev.is_cpu()) {
    std::vector<std::vector<Tensor>> coords(static_cast<size_t>(pc.iters));
    std::vector<Tensor> vis;
    for (int64_t b = 0; b < pc.B; ++b) {
      tracks::detail::PredictorOutput o = tracks::detail::track_predictor(
          sd, pc.prefix, pc.cfg, slice0(fmaps, b), slice0(query, b), pc.iters, pc.down_ratio);
      for (int it = 0; it < pc.iters; ++it) coords[it].push_back(o.coords[it]);
      if (!pc.cfg.fine) vis.push_back(o.vis);
    }
    for (int it = 0; it < pc.iters; ++it) out["coords_" + std::to_string(it)] = stack(coords[it]);
    out["motion"] = motion(out.at("coords_" + std::to_string(pc.iters - 1)));
    if (!pc.cfg.fine) out["vis"] = stack(vis);
    return out;
  }
  const tracks::cuda::CudaTrackPredictor pred(sd, pc.prefix, pc.cfg, dev, p);
  const tracks::cuda::CudaTrackPredictor::Result r = pred.forward(to_nhwc(fmaps).to(dev), query, pc.iters,
                                                                  pc.down_ratio);
  for (int it = 0; it < pc.iters; ++it) out["coords_" + std::to_string(it)] = r.coords[it];
  out["motion"] = motion(r.coords.back());
  if (!pc.cfg.fine) out["vis"] = r.vis;
  return out;
}

// The published coarse structure with small widths: 5 levels of radius 3, latent 32, hidden 384 (head dim 48, as
// published), 16 virtual tracks.
PredictorCase coarse_case(int64_t B = 1, int64_t N = 37) {
  tracks::TrackPredictorConfig c;
  c.corr_levels = 5, c.corr_radius = 3, c.latent_dim = 32, c.hidden_size = 384, c.depth = 2;
  c.num_virtual_tracks = 16;
  return {"coarse_predictor", c, B, N, 5, 24, 24, 3, 2};
}

// The published fine structure with depth 2, three batch elements of two tracks on 31 x 31 maps.
PredictorCase fine_case() {
  tracks::TrackerConfig tc;
  tracks::TrackPredictorConfig c = tc.fine;
  c.depth = 2;
  return {"fine_predictor", c, 3, 2, 4, 31, 31, 3, 1};
}

// A small coarse structure (2 levels of radius 2, depth 1, one iteration, 4 tracks in 2 frames): every kernel of
// the predictor once, small enough for compute-sanitizer's racecheck (tools/sanitize_device.sh).
PredictorCase small_case() {
  tracks::TrackPredictorConfig c;
  c.corr_levels = 2, c.corr_radius = 2, c.latent_dim = 16, c.hidden_size = 64, c.depth = 1;
  c.num_virtual_tracks = 4;
  return {"coarse_predictor", c, 1, 4, 2, 12, 12, 1, 2};
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  for (auto [M, H, Lq, Lk, D] : {std::tuple{3, 2, 37, 70, 32}, std::tuple{2, 8, 64, 131, 48},
                                 std::tuple{5, 3, 5, 5, 64}, std::tuple{1, 8, 200, 33, 48},
                                 std::tuple{4, 4, 9, 40, 8}, std::tuple{2, 2, 33, 17, 16}}) {
    const std::string name = "tracker_mha/M" + std::to_string(M) + "H" + std::to_string(H) + "Lq" +
                             std::to_string(Lq) + "Lk" + std::to_string(Lk) + "D" + std::to_string(D);
    cases.push_back({name, [=, M = M, H = H, Lq = Lq, Lk = Lk, D = D](Device d) { return run_mha(d, M, H, Lq, Lk, D, 71u + Lq); }, 1e-5});
  }
  cases.push_back({"tracker_predictor/coarse/fp32",
                   [](Device d) { return run_predictor(d, coarse_case(), Precision::F32, 5u); }, 1e-4});
  cases.push_back({"tracker_predictor/coarse_B2/fp32",
                   [](Device d) { return run_predictor(d, coarse_case(2, 20), Precision::F32, 7u); }, 1e-4});
  cases.push_back({"tracker_predictor/fine_B3/fp32",
                   [](Device d) { return run_predictor(d, fine_case(), Precision::F32, 6u); }, 1e-4});
  cases.push_back({"tracker_predictor/small/fp32",
                   [](Device d) { return run_predictor(d, small_case(), Precision::F32, 9u); }, 1e-4});
  cases.push_back({"tracker_predictor/coarse/bf16",
                   [](Device d) { return run_predictor(d, coarse_case(), Precision::BF16, 5u); }, 5e-2});
});

}  // namespace
}  // namespace vg::test
