// models/aggregator.py: DINOv2 ViT-L/14 (+4 registers) patch embedding, then `depth` pairs of frame-wise and
// global attention blocks; each pair's outputs are concatenated into [S, T, 2E] for the heads.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "vggt/cpu_ops.h"
#include "vggt/network.h"

namespace vg::vggt {

namespace {

constexpr float kResnetMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kResnetStd[3] = {0.229f, 0.224f, 0.225f};

// Conv2d(3, E, k=14, s=14) on normalised images as one GEMM over patches: [S*P, 3*14*14] x [E, 3*14*14]^T.
Tensor patch_embed(const VggtWeights& w, const DinoVitSpec& c, const Tensor& images) {
  const int64_t S = images.size(0), H = images.size(2), W = images.size(3), p = c.patch;
  const int64_t ph = H / p, pw = W / p, K = 3 * p * p, E = c.embed_dim;
  Tensor patches = Tensor::empty({S, ph * pw, K});
  const float* im = images.data<float>();
  float* dst = patches.data<float>();
  parallel_for(
      S * ph * pw,
      [&](int64_t b, int64_t e) {
        for (int64_t idx = b; idx < e; ++idx) {
          const int64_t s = idx / (ph * pw), py = idx / pw % ph, px = idx % pw;
          float* row = dst + idx * K;
          for (int ch = 0; ch < 3; ++ch)
            for (int64_t ky = 0; ky < p; ++ky)
              for (int64_t kx = 0; kx < p; ++kx) {
                const float v = im[((s * 3 + ch) * H + py * p + ky) * W + px * p + kx];
                *row++ = (v - kResnetMean[ch]) / kResnetStd[ch];
              }
        }
      },
      16);
  const Tensor& wt = w.at(c.prefix + "patch_embed.proj.weight");
  return ops::linear(patches, wt.reshape({E, K}), w.at(c.prefix + "patch_embed.proj.bias"));
}

}  // namespace

Tensor dino_pos_embed(const Tensor& pe, int64_t ph, int64_t pw) {
  const int64_t N = pe.size(1) - 1, E = pe.size(2);
  int64_t M = 0;
  while ((M + 1) * (M + 1) <= N) ++M;
  VG_CHECK(M * M == N, "DINOv2: pos_embed has ", N, " patch positions, not a square grid");
  if (ph * pw == N && ph == pw) return pe.reshape({N + 1, E});
  Tensor grid = Tensor::empty({E, M, M});  // [M*M, E] -> [E, M, M]
  const float* src = pe.data<float>() + E;
  float* g = grid.data<float>();
  for (int64_t i = 0; i < N; ++i)
    for (int64_t e = 0; e < E; ++e) g[e * N + i] = src[i * E + e];
  Tensor r = ops::interpolate_bicubic_aa(grid, ph, pw);
  Tensor out = Tensor::empty({1 + ph * pw, E});
  float* o = out.data<float>();
  std::memcpy(o, pe.data<float>(), E * sizeof(float));
  const float* rs = r.data<float>();
  for (int64_t i = 0; i < ph * pw; ++i)
    for (int64_t e = 0; e < E; ++e) o[(1 + i) * E + e] = rs[e * ph * pw + i];
  return out;
}

Tensor dino_vit_forward(const VggtWeights& w, const DinoVitSpec& c, const Tensor& images) {
  const int64_t S = images.size(0), ph = images.size(2) / c.patch, pw = images.size(3) / c.patch;
  const int64_t P = ph * pw, E = c.embed_dim, R = c.registers, T = 1 + R + P;
  Tensor patches = patch_embed(w, c, images);
  Tensor pos = dino_pos_embed(w.at(c.prefix + "pos_embed"), ph, pw);
  Tensor x = Tensor::empty({S, T, E});
  const float* cls = w.at(c.prefix + "cls_token").data<float>();
  const float* reg = R > 0 ? w.at(c.prefix + "register_tokens").data<float>() : nullptr;
  const float* ps = pos.data<float>();
  const float* pt = patches.data<float>();
  float* xs = x.data<float>();
  for (int64_t s = 0; s < S; ++s) {  // [cls + pos0, registers, patches + pos]
    float* f = xs + s * T * E;
    for (int64_t e = 0; e < E; ++e) f[e] = cls[e] + ps[e];
    if (R > 0) std::memcpy(f + E, reg, R * E * sizeof(float));
    for (int64_t i = 0; i < P; ++i)
      for (int64_t e = 0; e < E; ++e) f[(1 + R + i) * E + e] = pt[(s * P + i) * E + e] + ps[(1 + i) * E + e];
  }
  for (int i = 0; i < c.depth; ++i)
    block_forward(x, w, c.prefix + "blocks." + std::to_string(i) + ".", c.heads, 1e-6f, nullptr, 0);
  return ops::layer_norm(x, w.at(c.prefix + "norm.weight"), w.at(c.prefix + "norm.bias"), 1e-6f);
}

namespace {

// DINOv2 forward_features -> x_norm_patchtokens [S, P, E].
Tensor dino_forward(const VggtWeights& w, const VggtConfig& c, const Tensor& images) {
  const DinoVitSpec spec{"aggregator.patch_embed.", c.patch_size, c.embed_dim, c.num_register_tokens, c.dino_depth,
                         c.dino_heads};
  const Tensor xn = dino_vit_forward(w, spec, images);
  const int64_t S = xn.size(0), T = xn.size(1), E = xn.size(2), R = c.num_register_tokens, P = T - 1 - R;
  Tensor out = Tensor::empty({S, P, E});
  for (int64_t s = 0; s < S; ++s)
    std::memcpy(out.data<float>() + s * P * E, xn.data<float>() + (s * T + 1 + R) * E, P * E * sizeof(float));
  return out;
}

}  // namespace

AggregatorOutput run_aggregator(const VggtWeights& w, const VggtConfig& c, const Tensor& images,
                                const std::vector<int>& keep) {
  VG_CHECK(images.ndim() == 4 && images.size(1) == 3 && images.dtype() == DType::F32 && !images.is_cuda(),
           "VGGT: images must be F32 CPU [S,3,H,W], got ", shape_str(images.shape()));
  const int64_t S = images.size(0), H = images.size(2), W = images.size(3);
  VG_CHECK(S >= 1 && H % c.patch_size == 0 && W % c.patch_size == 0, "VGGT: image size ", H, "x", W,
           " is not a multiple of the patch size ", c.patch_size);
  const int64_t ph = H / c.patch_size, pw = W / c.patch_size, P = ph * pw, E = c.embed_dim;
  const int64_t R = c.num_register_tokens, T = c.patch_start() + P;
  AggregatorOutput out;
  out.dino_patch_tokens = dino_forward(w, c, images);
  // Tokens per frame: camera token, registers (index 0 for the first frame, 1 for the rest), patches.
  Tensor x = Tensor::empty({S, T, E});
  const float* cam = w.at("aggregator.camera_token").data<float>();
  const float* reg = w.at("aggregator.register_token").data<float>();
  for (int64_t s = 0; s < S; ++s) {
    const int64_t which = s == 0 ? 0 : 1;
    float* f = x.data<float>() + s * T * E;
    std::memcpy(f, cam + which * E, E * sizeof(float));
    std::memcpy(f + E, reg + which * R * E, R * E * sizeof(float));
    std::memcpy(f + (1 + R) * E, out.dino_patch_tokens.data<float>() + s * P * E, P * E * sizeof(float));
  }
  // RoPE positions: (y + 1, x + 1) for patches, (0, 0) for the special tokens.
  std::vector<int32_t> pos(static_cast<size_t>(S * T * 2), 0);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = 0; i < P; ++i) {
      pos[2 * (s * T + 1 + R + i)] = static_cast<int32_t>(i / pw + 1);
      pos[2 * (s * T + 1 + R + i) + 1] = static_cast<int32_t>(i % pw + 1);
    }
  out.tokens.resize(c.depth);
  for (int i = 0; i < c.depth; ++i) {
    const std::string idx = std::to_string(i) + ".";
    block_forward(x, w, "aggregator.frame_blocks." + idx, c.num_heads, 1e-5f, pos.data(), c.rope_freq);
    const bool kept = std::find(keep.begin(), keep.end(), i) != keep.end();
    Tensor frame_out = kept ? x.clone() : Tensor();
    Tensor g = x.reshape({1, S * T, E});
    block_forward(g, w, "aggregator.global_blocks." + idx, c.num_heads, 1e-5f, pos.data(), c.rope_freq);
    if (!kept) continue;
    Tensor cat = Tensor::empty({S, T, 2 * E});
    const float* fa = frame_out.data<float>();
    const float* ga = x.data<float>();
    float* d = cat.data<float>();
    for (int64_t r = 0; r < S * T; ++r) {
      std::memcpy(d + r * 2 * E, fa + r * E, E * sizeof(float));
      std::memcpy(d + r * 2 * E + E, ga + r * E, E * sizeof(float));
    }
    out.tokens[i] = std::move(cat);
  }
  return out;
}

}  // namespace vg::vggt
