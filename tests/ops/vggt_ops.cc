// Backend-op cases for the VGGT CUDA engine: each kernel family (GEMM + epilogues, LayerNorm, fused attention
// with qk-norm and 2-D RoPE, convs as im2col + GEMM, conv-transpose, bilinear) against the CPU fp32 ops of
// vggt/cpu_ops.h, in fp32 (1e-5) and bf16 / fp16 (16-bit-rounded inputs: a few 1e-3); and the whole tiny model
// (CudaVggtModel vs VggtModel on the committed fixture's weights and images).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "io/safetensors.h"
#include "tests/backend_ops.h"
#include "tests/test_util.h"
#include "vggt/cpu_ops.h"
#include "vggt/cuda_model.h"
#include "vggt/cuda_ops.h"
#include "vggt/model.h"

namespace vg::test {
namespace {

using vggt::cuda::Epilogue;
using vggt::cuda::Precision;

// The GEMM weight as the CUDA launcher takes it: fp32, or a 16-bit copy (U8 storage).
Tensor gemm_weight(const Tensor& w_dev, Precision p) {
  if (p == Precision::F32) return w_dev;
  Tensor lp = Tensor::empty({w_dev.numel() * 2}, DType::U8, w_dev.device());
  vggt::cuda::convert_weights(w_dev.data<float>(), lp.raw(), w_dev.numel(), p);
  return lp;
}

// [C,H,W] <-> [H,W,C] on the host.
Tensor chw_to_hwc(const Tensor& x) {
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2);
  Tensor y = Tensor::empty({H, W, C});
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < H * W; ++i) y.data<float>()[i * C + c] = x.data<float>()[c * H * W + i];
  return y;
}
Tensor hwc_to_chw(const Tensor& x) {
  const int64_t H = x.size(0), W = x.size(1), C = x.size(2);
  Tensor y = Tensor::empty({C, H, W});
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < H * W; ++i) y.data<float>()[c * H * W + i] = x.data<float>()[i * C + c];
  return y;
}

OpOutputs run_linear(Device d, int64_t M, int64_t K, int64_t N, Epilogue epi, Precision p, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor a = uniform({M, K}, -1.f, 1.f, rng), w = uniform({N, K}, -0.2f, 0.2f, rng), b = uniform({N}, -1.f, 1.f, rng);
  Tensor gamma = uniform({N}, 0.5f, 1.5f, rng), c0 = uniform({M, N}, -1.f, 1.f, rng);
  if (d.is_cpu()) {
    Tensor y = vggt::ops::linear(a, w, b);
    if (epi == Epilogue::kGelu) vggt::ops::gelu_(y);
    if (epi == Epilogue::kRelu) vggt::ops::relu_(y);
    if (epi == Epilogue::kResidual) {
      vggt::ops::add_scaled_(c0, y, gamma);
      y = c0;
    }
    return {{"y", y}};
  }
  Tensor ad = a.to(d), wd = gemm_weight(w.to(d), p), bd = b.to(d), gd = gamma.to(d), y = c0.to(d);
  vggt::cuda::linear(ad.data<float>(), M, K, wd.raw(), N, bd.data<float>(), y.data<float>(), N, epi, gd.data<float>(), p);
  return {{"y", y}};
}

OpOutputs run_layer_norm(Device d, int64_t rows, int64_t C, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor x = normal({rows, C}, 0.3f, 2.f, rng), w = uniform({C}, 0.5f, 1.5f, rng), b = uniform({C}, -1.f, 1.f, rng);
  if (d.is_cpu()) return {{"y", vggt::ops::layer_norm(x, w, b, 1e-6f)}};
  Tensor xd = x.to(d), wd = w.to(d), bd = b.to(d), y = Tensor::empty({rows, C}, DType::F32, d);
  vggt::cuda::layer_norm(xd.data<float>(), y.data<float>(), rows, C, wd.data<float>(), bd.data<float>(), 1e-6f);
  return {{"y", y}};
}

// Attention with qk-norm and RoPE (positions on a grid of `side` columns; the first 5 tokens at (0, 0)).
// rows_layout: the row-major layout (and the FlashAttention-2 kernel) even where the device has a faster one.
OpOutputs run_attention(Device d, int64_t B, int64_t N, int heads, int D, bool rope, Precision p, bool rows_layout,
                        unsigned seed) {
  std::mt19937 rng(seed);
  const int64_t C = static_cast<int64_t>(heads) * D;
  Tensor qkv = normal({B, N, 3 * C}, 0.f, 1.f, rng);
  Tensor qw = uniform({D}, 0.5f, 1.5f, rng), qb = uniform({D}, -0.3f, 0.3f, rng);
  Tensor kw = uniform({D}, 0.5f, 1.5f, rng), kb = uniform({D}, -0.3f, 0.3f, rng);
  std::vector<int32_t> pos(static_cast<size_t>(2 * N), 0);
  const int64_t side = 11;
  int32_t max_pos = 0;
  for (int64_t t = 5; t < N; ++t) {
    pos[2 * t] = static_cast<int32_t>((t - 5) / side % side + 1);
    pos[2 * t + 1] = static_cast<int32_t>((t - 5) % side + 1);
    max_pos = std::max({max_pos, pos[2 * t], pos[2 * t + 1]});
  }
  const float freq = 100.0f;
  if (d.is_cpu()) return {{"out", vggt::ops::attention(qkv, heads, qw, qb, kw, kb, rope ? pos.data() : nullptr, freq)}};
  // The (cos, sin) table exactly as ops::rope2d_ computes the angles.
  const int64_t half = D / 4;
  std::vector<float> cs(static_cast<size_t>((max_pos + 1) * half * 2));
  for (int64_t q = 0; q <= max_pos; ++q)
    for (int64_t j = 0; j < half; ++j) {
      const float a = static_cast<float>(q) * (1.0f / std::pow(freq, static_cast<float>(2 * j) / static_cast<float>(D / 2)));
      cs[(q * half + j) * 2] = std::cos(a);
      cs[(q * half + j) * 2 + 1] = std::sin(a);
    }
  Tensor qkvd = qkv.to(d), qwd = qw.to(d), qbd = qb.to(d), kwd = kw.to(d), kbd = kb.to(d);
  Tensor posd = Tensor::from_vector(pos, {N, 2}, d), csd = Tensor::from_vector(cs, {max_pos + 1, half, 2}, d);
  const vggt::cuda::AttnLayout l = rows_layout ? vggt::cuda::AttnLayout::kRows : vggt::cuda::attention_layout(D, p);
  const int64_t bytes = B * heads * vggt::cuda::attention_rows(N, l) * D * vggt::cuda::attention_elem_bytes(p);
  Tensor q = Tensor::empty({bytes}, DType::U8, d), k = Tensor::empty({bytes}, DType::U8, d);
  Tensor v = Tensor::empty({bytes}, DType::U8, d), out = Tensor::empty({B, N, C}, DType::F32, d);
  vggt::cuda::attention_prep(qkvd.data<float>(), B, N, heads, D, qwd.data<float>(), qbd.data<float>(), kwd.data<float>(),
                             kbd.data<float>(), rope ? posd.data<int32_t>() : nullptr, csd.data<float>(), q.raw(),
                             k.raw(), v.raw(), p, l);
  vggt::cuda::flash_attention(q.raw(), k.raw(), v.raw(), out.data<float>(), B, heads, N, D, p, l);
  return {{"out", out}};
}

// Conv2d (k x k, stride, pad) through im2col + GEMM on NHWC, vs ops::conv2d on CHW.
OpOutputs run_conv(Device d, int64_t C, int64_t H, int64_t W, int64_t O, int k, int stride, int pad, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor x = normal({C, H, W}, 0.f, 1.f, rng), w = normal({O, C, k, k}, 0.f, 0.2f, rng), b = uniform({O}, -1.f, 1.f, rng);
  if (d.is_cpu()) return {{"y", vggt::ops::conv2d(x, w, b, stride, pad)}};
  Tensor wp = Tensor::empty({O, k, k, C});  // [O, ky, kx, C]
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < k * k; ++i) wp.data<float>()[(o * k * k + i) * C + c] = w.data<float>()[(o * C + c) * k * k + i];
  const int64_t Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1;
  Tensor xd = chw_to_hwc(x).to(d), wd = wp.to(d), bd = b.to(d);
  Tensor col = Tensor::empty({Ho * Wo, k * k * C}, DType::F32, d), y = Tensor::empty({Ho, Wo, O}, DType::F32, d);
  vggt::cuda::im2col(xd.data<float>(), H, W, C, k, stride, pad, col.data<float>(), Ho, Wo);
  vggt::cuda::linear(col.data<float>(), Ho * Wo, k * k * C, wd.data<float>(), O, bd.data<float>(), y.data<float>(), O,
                     Epilogue::kStore, nullptr, Precision::F32);
  return {{"y", hwc_to_chw(y.to(Device::cpu()))}};
}

OpOutputs run_conv_transpose(Device d, int64_t C, int64_t H, int64_t W, int64_t O, int k, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor x = normal({C, H, W}, 0.f, 1.f, rng), w = normal({C, O, k, k}, 0.f, 0.2f, rng), b = uniform({O}, -1.f, 1.f, rng);
  if (d.is_cpu()) return {{"y", vggt::ops::conv_transpose2d(x, w, b, k)}};
  Tensor wt = Tensor::empty({k * k * O, C});  // rows (i, j, o)
  for (int64_t c = 0; c < C; ++c)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < k * k; ++i) wt.data<float>()[(i * O + o) * C + c] = w.data<float>()[(c * O + o) * k * k + i];
  Tensor xd = chw_to_hwc(x).to(d), wd = wt.to(d), bd = b.to(d);
  Tensor g = Tensor::empty({H * W, k * k * O}, DType::F32, d), y = Tensor::empty({H * k, W * k, O}, DType::F32, d);
  vggt::cuda::linear(xd.data<float>(), H * W, C, wd.data<float>(), k * k * O, nullptr, g.data<float>(), k * k * O,
                     Epilogue::kStore, nullptr, Precision::F32);
  vggt::cuda::conv_transpose_scatter(g.data<float>(), H, W, O, k, bd.data<float>(), y.data<float>());
  return {{"y", hwc_to_chw(y.to(Device::cpu()))}};
}

OpOutputs run_bilinear(Device d, int64_t C, int64_t H, int64_t W, int64_t Ho, int64_t Wo, bool align, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor x = normal({C, H, W}, 0.f, 1.f, rng);
  if (d.is_cpu()) return {{"y", vggt::ops::interpolate_bilinear(x, Ho, Wo, align)}};
  Tensor xd = chw_to_hwc(x).to(d), y = Tensor::empty({Ho, Wo, C}, DType::F32, d);
  vggt::cuda::bilinear(xd.data<float>(), H, W, C, Ho, Wo, align, y.data<float>());
  return {{"y", hwc_to_chw(y.to(Device::cpu()))}};
}

// The whole tiny network (point head on): CPU VggtModel vs CudaVggtModel, same weights and images.
OpOutputs run_tiny_model(Device d, Precision p) {
  const auto dir = source_dir() / "tests" / "data";
  const vggt::VggtConfig cfg = vggt::VggtConfig::tiny();
  vggt::VggtWeights w = vggt::load_weights(dir / "vggt_tiny.pt", cfg, true);
  const Tensor images = SafetensorsFile::open(dir / "vggt_tiny.safetensors").get("images");
  const vggt::VggtOptions opts{.point_head = true, .keep_all_tokens = true};
  vggt::VggtOutput o = d.is_cpu() ? vggt::VggtModel(cfg, std::move(w)).forward(images, opts)
                                  : vggt::CudaVggtModel(cfg, w, d, p).forward(images, opts);
  OpOutputs r = {{"pose_enc", o.pose_enc},         {"depth", o.depth},
                 {"depth_conf", o.depth_conf},     {"world_points", o.world_points},
                 {"world_points_conf", o.world_points_conf}, {"dino_patch_tokens", o.dino_patch_tokens}};
  for (const auto& [i, t] : o.tokens) r["tokens_" + std::to_string(i)] = t;
  return r;
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  const std::pair<Precision, double> precs[] = {{Precision::F32, 1e-5}, {Precision::BF16, 8e-3}};
  for (auto [p, tol] : precs) {
    const std::string ps = vggt::cuda::precision_name(p);
    for (auto [K, epi, en] : {std::tuple{200, Epilogue::kStore, "store"}, std::tuple{9, Epilogue::kStore, "store"},
                              std::tuple{136, Epilogue::kGelu, "gelu"}, std::tuple{64, Epilogue::kRelu, "relu"},
                              std::tuple{1024, Epilogue::kResidual, "residual"}}) {
      cases.push_back({"vggt_linear/" + ps + "/K" + std::to_string(K) + "/" + en,
                       [K = K, epi = epi, p = p](Device d) { return run_linear(d, 300, K, 130, epi, p, 41u + K); }, tol});
    }
  }
  // Attention: fp32, and the tensor-core kernels in bf16 and fp16 (N not a multiple of their tiles: partial query
  // blocks and masked keys; D = 64 over several key tiles), each 16-bit case also from the row layout (/fa2) where
  // the device's own layout differs (the sm_90a kernel).
  for (Precision p : {Precision::F32, Precision::BF16, Precision::F16}) {
    const std::string ps = vggt::cuda::precision_name(p);
    const double tol = p == Precision::F32 ? 1e-5 : 2e-2;
    for (auto [B, N, H, D, rope] : {std::tuple{3, 131, 4, 16, true}, std::tuple{2, 150, 2, 64, true},
                                    std::tuple{1, 1000, 3, 64, true}, std::tuple{2, 77, 2, 64, false},
                                    std::tuple{1, 128, 2, 64, false}, std::tuple{2, 1, 2, 64, false},
                                    std::tuple{1, 300, 4, 32, false}, std::tuple{1, 70, 2, 128, false}}) {
      const std::string name = "vggt_attention/" + ps + "/B" + std::to_string(B) + "N" + std::to_string(N) + "D" +
                               std::to_string(D) + (rope ? "/rope" : "");
      // Structured bindings captured by name (clang before 16 cannot capture them implicitly).
      auto run = [=, B = B, N = N, H = H, D = D, rope = rope](bool fa2) {
        return [=](Device d) { return run_attention(d, B, N, H, D, rope, p, fa2, 51u + N); };
      };
      cases.push_back({name, run(false), tol});
      if (p != Precision::F32 && D == 64) cases.push_back({name + "/fa2", run(true), tol});
    }
  }
  cases.push_back({"vggt_layer_norm/2048", [](Device d) { return run_layer_norm(d, 77, 2048, 61u); }, 1e-5});
  cases.push_back({"vggt_conv3x3/s1", [](Device d) { return run_conv(d, 12, 17, 23, 10, 3, 1, 1, 71u); }, 1e-5});
  cases.push_back({"vggt_conv3x3/s2", [](Device d) { return run_conv(d, 8, 13, 10, 6, 3, 2, 1, 72u); }, 1e-5});
  cases.push_back({"vggt_conv_transpose/k4", [](Device d) { return run_conv_transpose(d, 8, 5, 6, 7, 4, 73u); }, 1e-5});
  for (bool align : {true, false})
    cases.push_back({std::string("vggt_bilinear/") + (align ? "align" : "noalign"),
                     [align](Device d) { return run_bilinear(d, 5, 9, 13, 37, 29, align, 74u); }, 1e-5});
  cases.push_back({"vggt_tiny_model/fp32", [](Device d) { return run_tiny_model(d, Precision::F32); }, 1e-4});
  cases.push_back({"vggt_tiny_model/bf16", [](Device d) { return run_tiny_model(d, Precision::BF16); }, 2e-2});
});

}  // namespace
}  // namespace vg::test
