// Backend-op cases for the track-source CNN layer (tracks/cuda_nn.h) against the CPU fp32 ops (metrics/conv2d.h,
// tracks/nn_ops.h, vggt/cpu_ops.h), batched NCHW on the CPU frame by frame vs NHWC on the device; and the whole
// VGGSfM tracker (CudaVggsfmTracker vs VggsfmTracker) on the committed tiny fixture: coarse feature maps, every
// coarse iteration and the visibility, the fine stage, and the end-to-end forward.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "metrics/conv2d.h"
#include "tests/backend_ops.h"
#include "tests/test_util.h"
#include "tests/tracker_fixture.h"
#include "tracks/cuda_nn.h"
#include "tracks/cuda_tracker.h"
#include "tracks/nn_ops.h"
#include "tracks/tracker.h"
#include "vggt/cpu_ops.h"

namespace vg::test {
namespace {

using tracks::cuda::Precision;

// x[b] of a batched CPU tensor [B, ...] as its own tensor.
Tensor frame_of(const Tensor& x, int64_t b) {
  Shape sh(x.shape().begin() + 1, x.shape().end());
  Tensor out = Tensor::empty(sh);
  std::copy(x.data<float>() + b * out.numel(), x.data<float>() + (b + 1) * out.numel(), out.data<float>());
  return out;
}

// Frames [C,H,W] stacked to [B,C,H,W].
Tensor stack(const std::vector<Tensor>& xs) {
  Shape sh = xs[0].shape();
  sh.insert(sh.begin(), static_cast<int64_t>(xs.size()));
  Tensor out = Tensor::empty(sh);
  for (size_t b = 0; b < xs.size(); ++b)
    std::copy(xs[b].data<float>(), xs[b].data<float>() + xs[b].numel(), out.data<float>() + b * xs[b].numel());
  return out;
}

// The CPU op applied frame by frame to x [B,C,H,W].
template <typename F>
Tensor per_frame(const Tensor& x, F f) {
  std::vector<Tensor> ys;
  for (int64_t b = 0; b < x.size(0); ++b) ys.push_back(f(frame_of(x, b)));
  return stack(ys);
}

Tensor to_nhwc(const Tensor& x_nchw, Device d) { return tracks::cuda::nchw_to_nhwc(x_nchw.to(d)); }
Tensor to_nchw_cpu(const Tensor& x_nhwc) { return tracks::cuda::nhwc_to_nchw(x_nhwc).to(Device::cpu()); }

OpOutputs run_conv(Device d, int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int k, int stride, int pad,
                   bool relu, Precision p, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor x = normal({B, C, H, W}, 0.f, 1.f, rng), w = normal({O, C, k, k}, 0.f, 0.2f, rng);
  Tensor b = uniform({O}, -1.f, 1.f, rng);
  if (d.is_cpu())
    return {{"y", per_frame(x, [&](const Tensor& f) {
               Tensor y = nn::conv2d(f, w, b, stride, pad);
               if (relu) nn::relu_(y);
               return y;
             })}};
  const tracks::cuda::Conv c = tracks::cuda::Conv::upload(w, b, d, p);
  const Tensor y = tracks::cuda::conv2d(to_nhwc(x, d), c, stride, pad,
                                        relu ? tracks::cuda::Epilogue::kRelu : tracks::cuda::Epilogue::kStore);
  return {{"y", to_nchw_cpu(y)}};
}

OpOutputs run_instance_norm(Device d, int64_t B, int64_t C, int64_t H, int64_t W, bool relu, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor x = normal({B, C, H, W}, 3.f, 0.5f, rng);  // an offset mean: the variance must not cancel
  if (d.is_cpu())
    return {{"y", per_frame(x, [&](Tensor f) {
               tracks::ops::instance_norm_(f);
               if (relu) nn::relu_(f);
               return f;
             })}};
  Tensor y = to_nhwc(x, d);
  relu ? tracks::cuda::instance_norm_relu_(y) : tracks::cuda::instance_norm_(y);
  return {{"y", to_nchw_cpu(y)}};
}

OpOutputs run_batch_norm(Device d, int64_t B, int64_t C, int64_t H, int64_t W, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor x = normal({B, C, H, W}, 0.f, 1.f, rng), w = uniform({C}, 0.5f, 1.5f, rng), b = uniform({C}, -1.f, 1.f, rng);
  Tensor m = uniform({C}, -0.5f, 0.5f, rng), v = uniform({C}, 0.2f, 2.f, rng);
  if (d.is_cpu())
    return {{"y", per_frame(x, [&](Tensor f) {
               tracks::ops::batch_norm_(f, w, b, m, v);
               return f;
             })}};
  Tensor y = to_nhwc(x, d);
  tracks::cuda::batch_norm_(y, w.to(d), b.to(d), m.to(d), v.to(d));
  return {{"y", to_nchw_cpu(y)}};
}

OpOutputs run_bilinear(Device d, int64_t B, int64_t C, int64_t H, int64_t W, int64_t Ho, int64_t Wo, bool align,
                       unsigned seed) {
  std::mt19937 rng(seed);
  Tensor x = normal({B, C, H, W}, 0.f, 1.f, rng);
  if (d.is_cpu())
    return {{"y", per_frame(x, [&](const Tensor& f) { return vggt::ops::interpolate_bilinear(f, Ho, Wo, align); })}};
  return {{"y", to_nchw_cpu(tracks::cuda::bilinear(to_nhwc(x, d), Ho, Wo, align))}};
}

OpOutputs run_max_pool(Device d, int64_t B, int64_t C, int64_t H, int64_t W, int k, int stride, int pad,
                       unsigned seed) {
  std::mt19937 rng(seed);
  Tensor x = normal({B, C, H, W}, 0.f, 1.f, rng);
  if (d.is_cpu()) return {{"y", per_frame(x, [&](const Tensor& f) { return nn::max_pool2d(f, k, stride, pad); })}};
  return {{"y", to_nchw_cpu(tracks::cuda::max_pool2d(to_nhwc(x, d), k, stride, pad))}};
}

// torch.cat(dim=1) of three maps, then x + relu(cat) through add_ / relu_ (in place).
OpOutputs run_concat(Device d, unsigned seed) {
  std::mt19937 rng(seed);
  const int64_t B = 2, H = 7, W = 9, Cs[3] = {3, 8, 5};
  std::vector<Tensor> xs;
  for (int64_t c : Cs) xs.push_back(normal({B, c, H, W}, 0.f, 1.f, rng));
  if (d.is_cpu()) {
    Tensor out = Tensor::empty({B, 16, H, W});
    float* o = out.data<float>();
    for (int64_t b = 0; b < B; ++b)
      for (const Tensor& x : xs) {
        const int64_t n = x.numel() / B;
        o = std::copy(x.data<float>() + b * n, x.data<float>() + (b + 1) * n, o);
      }
    Tensor r = out.clone();
    nn::relu_(r);
    Tensor sum = out.clone();
    vggt::ops::add_(sum, r);
    return {{"cat", out}, {"x_plus_relu", sum}};
  }
  std::vector<Tensor> dev;
  for (const Tensor& x : xs) dev.push_back(to_nhwc(x, d));
  const Tensor cat = tracks::cuda::concat_channels(dev);
  Tensor r = cat.clone(), sum = cat.clone();
  tracks::cuda::relu_(r);
  tracks::cuda::add_(sum, r);
  return {{"cat", to_nchw_cpu(cat)}, {"x_plus_relu", to_nchw_cpu(sum)}};
}

// ---- the whole tracker on the tiny fixture (tools/tracker_fixtures.py --tiny)


struct TinyTracker {
  SafetensorsFile io = SafetensorsFile::open(source_dir() / "tests" / "data" / "tracker_tiny.safetensors");
  tracks::TrackerConfig cfg = tracker_config_of(io);
  tracks::VggsfmTracker cpu = tracks::VggsfmTracker::load(source_dir() / "tests" / "data" / "tracker_tiny.pt", cfg);
  int coarse_iters = std::stoi(io.metadata().at("coarse_iters"));

};

Tensor cpu(const Tensor& t) { return t.to(Device::cpu()); }

// Coarse feature maps from the images (CPU layout [S,C,h,w]).
OpOutputs run_tracker_fmaps(Device d, Precision p) {
  TinyTracker t;
  const Tensor images = t.io.get("images");
  if (d.is_cpu()) return {{"fmaps", t.cpu.coarse_fmaps(images)}};
  return {{"fmaps", to_nchw_cpu(tracks::CudaVggsfmTracker(t.cpu, d, p).coarse_fmaps(images))}};
}

// Every coarse iteration and the visibility, on the fixture's (official) feature maps.
OpOutputs run_tracker_coarse(Device d, Precision p) {
  TinyTracker t;
  const Tensor fmaps = t.io.get("fmaps"), query = t.io.get("query_points");
  const tracks::VggsfmTracker::CoarseResult r =
      d.is_cpu() ? t.cpu.coarse_track(fmaps, query, t.coarse_iters)
                 : tracks::CudaVggsfmTracker(t.cpu, d, p).coarse_track(fmaps, query, t.coarse_iters);
  OpOutputs out = {{"vis", cpu(r.vis)}};
  for (size_t i = 0; i < r.iters.size(); ++i) out["iter" + std::to_string(i)] = cpu(r.iters[i]);
  return out;
}

// The fine stage on the fixture's coarse tracks.
OpOutputs run_tracker_refine(Device d, Precision p) {
  TinyTracker t;
  const Tensor images = t.io.get("images"), coarse = t.io.get("coarse_tracks");
  if (d.is_cpu()) return {{"fine", t.cpu.refine(images, coarse)}};
  return {{"fine", cpu(tracks::CudaVggsfmTracker(t.cpu, d, p).refine(images, coarse))}};
}

// End to end: feature maps, coarse tracking and the fine stage, each engine on its own intermediate results.
OpOutputs run_tracker_track(Device d, Precision p) {
  TinyTracker t;
  const Tensor images = t.io.get("images"), query = t.io.get("query_points");
  if (d.is_cpu()) {
    const tracks::VggsfmTracker::Result r =
        t.cpu.track(images, t.cpu.coarse_fmaps(images), query, true, t.coarse_iters);
    return {{"tracks", r.tracks}, {"vis", r.vis}};
  }
  const tracks::CudaVggsfmTracker ct(t.cpu, d, p);
  const tracks::VggsfmTracker::Result r = ct.track(images, ct.coarse_fmaps(images), query, true, t.coarse_iters);
  return {{"tracks", cpu(r.tracks)}, {"vis", cpu(r.vis)}};
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  struct ConvCase {
    int64_t B, C, H, W, O;
    int k, stride, pad;
    bool relu;
  };
  const ConvCase convs[] = {
      {2, 3, 37, 41, 16, 7, 2, 3, false},  // BasicEncoder.conv1
      {3, 16, 19, 17, 24, 3, 1, 1, true},  {3, 16, 19, 17, 24, 3, 2, 1, false}, {2, 3, 31, 31, 8, 3, 2, 1, false},
      {2, 24, 13, 15, 16, 1, 1, 0, false}, {2, 24, 13, 15, 16, 1, 2, 0, false}, {2, 5, 11, 9, 7, 3, 1, 0, false},
      {2, 6, 12, 10, 5, 5, 2, 2, true},
  };
  for (auto [p, tol] : {std::pair{Precision::F32, 1e-5}, std::pair{Precision::BF16, 2e-2}}) {
    const std::string ps = vggt::cuda::precision_name(p);
    for (const ConvCase& c : convs) {
      const std::string name = "tracks_conv2d/" + ps + "/C" + std::to_string(c.C) + "O" + std::to_string(c.O) + "k" +
                               std::to_string(c.k) + "s" + std::to_string(c.stride) + "p" + std::to_string(c.pad) +
                               (c.relu ? "/relu" : "");
      cases.push_back({name,
                       [c, p = p](Device d) {
                         return run_conv(d, c.B, c.C, c.H, c.W, c.O, c.k, c.stride, c.pad, c.relu, p, 71u + c.C * c.k);
                       },
                       tol});
    }
  }
  // Chunked GEMMs: an im2col matrix over the 256 MB scratch, and a 1x1 conv over 2^21 rows.
  cases.push_back({"tracks_conv2d/fp32/chunked_im2col",
                   [](Device d) { return run_conv(d, 2, 32, 360, 360, 8, 3, 1, 1, false, Precision::F32, 81u); },
                   1e-5});
  cases.push_back({"tracks_conv2d/fp32/chunked_1x1",
                   [](Device d) { return run_conv(d, 3, 4, 900, 900, 4, 1, 1, 0, false, Precision::F32, 82u); }, 1e-5});
  for (bool relu : {false, true})
    cases.push_back({std::string("tracks_instance_norm") + (relu ? "/relu" : ""),
                     [relu](Device d) { return run_instance_norm(d, 3, 40, 50, 47, relu, 83u); }, 1e-6});
  cases.push_back(
      {"tracks_instance_norm/small", [](Device d) { return run_instance_norm(d, 5, 8, 3, 4, false, 84u); }, 1e-6});
  cases.push_back({"tracks_batch_norm", [](Device d) { return run_batch_norm(d, 2, 24, 9, 13, 85u); }, 1e-6});
  for (bool align : {true, false}) {
    const std::string a = align ? "/align" : "/noalign";
    cases.push_back({"tracks_bilinear/up" + a,
                     [align](Device d) { return run_bilinear(d, 2, 5, 17, 23, 31, 29, align, 86u); }, 1e-6});
    cases.push_back({"tracks_bilinear/down" + a,
                     [align](Device d) { return run_bilinear(d, 3, 7, 64, 48, 32, 24, align, 87u); }, 1e-6});
  }
  for (auto [k, s, pad] : {std::tuple{3, 2, 1}, std::tuple{2, 2, 0}, std::tuple{5, 1, 2}})
    cases.push_back({"tracks_max_pool2d/k" + std::to_string(k) + "s" + std::to_string(s) + "p" + std::to_string(pad),
                     [k = k, s = s, pad = pad](Device d) { return run_max_pool(d, 2, 6, 15, 14, k, s, pad, 88u); },
                     1e-7});
  cases.push_back({"tracks_concat_add_relu", [](Device d) { return run_concat(d, 89u); }, 1e-7});
  // The whole tracker: fp32 to the CPU engine's precision; bf16 within its rounding.
  struct Tol {
    Precision p;
    double fmaps, coarse, refine, track;
  };
  for (const Tol& t : {Tol{Precision::F32, 1e-4, 1e-4, 1e-5, 1e-4}, Tol{Precision::BF16, 3e-2, 5e-2, 5e-3, 5e-2}}) {
    const std::string ps = vggt::cuda::precision_name(t.p);
    const Precision p = t.p;
    cases.push_back(
        {"tracker_tiny/" + ps + "/coarse_fmaps", [p](Device d) { return run_tracker_fmaps(d, p); }, t.fmaps});
    cases.push_back(
        {"tracker_tiny/" + ps + "/coarse_track", [p](Device d) { return run_tracker_coarse(d, p); }, t.coarse});
    cases.push_back({"tracker_tiny/" + ps + "/refine", [p](Device d) { return run_tracker_refine(d, p); }, t.refine});
    cases.push_back({"tracker_tiny/" + ps + "/track", [p](Device d) { return run_tracker_track(d, p); }, t.track});
  }
});

}  // namespace
}  // namespace vg::test
