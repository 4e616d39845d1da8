// The shared CUDA transformer (cuda_vit.h): weight upload and the Block / DINOv2 forward as launches of
// vggt/cuda_ops.h. Mirrors block.cc and aggregator.cc step by step (see those for the official-code references).
#include "vggt/cuda_vit.h"

#include <algorithm>
#include <utility>

#include "core/cuda_memory.h"
#include "core/error.h"

namespace vg::vggt {

namespace {

using cuda::Epilogue;

constexpr const char* kPatchEmbedSuffix = "patch_embed.proj.weight";  // Conv2d(3, E, p, stride p)

bool ends_with(const std::string& s, const std::string& t) {
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

// Conv2d weight [O, C, k, k] -> [O, k, k, C] (the NHWC im2col column order).
Tensor conv_weight_khwc(const Tensor& w) {
  const int64_t O = w.size(0), C = w.size(1), kh = w.size(2), kw = w.size(3);
  Tensor out = Tensor::empty({O, kh, kw, C});
  const float* s = w.data<float>();
  float* d = out.data<float>();
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < kh * kw; ++i) d[(o * kh * kw + i) * C + c] = s[(o * C + c) * kh * kw + i];
  return out;
}

// ConvTranspose2d weight [C, O, k, k] -> GEMM weight [k, k, O, C] (rows (i, j, o)).
Tensor conv_transpose_weight(const Tensor& w) {
  const int64_t C = w.size(0), O = w.size(1), kk = w.size(2) * w.size(3);
  Tensor out = Tensor::empty({kk * O, C});
  const float* s = w.data<float>();
  float* d = out.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < kk; ++i) d[(i * O + o) * C + c] = s[(c * O + o) * kk + i];
  return out;
}

// LayerScale folded into the 16-bit GEMMs: x += gamma * (W h + b) = (gamma W) h + gamma b, so the residual runs
// as one fused cuBLASLt epilogue. The gamma of a block's proj / fc2 weight, or "" for other weights.
std::string layer_scale_of(const std::string& name) {
  for (const auto& [suffix, ls] : {std::pair<std::string, std::string>{"attn.proj.weight", "ls1.gamma"},
                                   std::pair<std::string, std::string>{"mlp.fc2.weight", "ls2.gamma"}})
    if (ends_with(name, suffix)) return name.substr(0, name.size() - suffix.size()) + ls;
  return "";
}

// rows of w [N, K] (or the vector w [N]) scaled by g [N].
Tensor scale_rows(const Tensor& w, const Tensor& g) {
  Tensor out = Tensor::empty(w.shape());
  const int64_t N = w.size(0), K = w.numel() / N;
  VG_CHECK(g.numel() == N, "VGGT: LayerScale size ", g.numel(), " does not match ", N, " rows");
  const float *s = w.data<float>(), *gs = g.data<float>();
  float* d = out.data<float>();
  for (int64_t r = 0; r < N; ++r)
    for (int64_t c = 0; c < K; ++c) d[r * K + c] = s[r * K + c] * gs[r];
  return out;
}

// w [N, K] -> [N, K rounded up to a multiple of m], zero columns appended (16-byte rows for the 16-bit GEMMs).
Tensor pad_columns(const Tensor& w, int64_t m) {
  const int64_t N = w.size(0), K = w.size(1), Kp = (K + m - 1) / m * m;
  Tensor out = Tensor::zeros({N, Kp});
  for (int64_t r = 0; r < N; ++r)
    for (int64_t c = 0; c < K; ++c) out.data<float>()[r * Kp + c] = w.data<float>()[r * K + c];
  return out;
}

float* fp(Tensor& t) { return t.data<float>(); }
const float* fp(const Tensor& t) { return t.data<float>(); }

}  // namespace

CudaParams::CudaParams(const VggtWeights& weights, Device device, cuda::Precision precision)
    : device_(device), precision_(precision) {
  VG_CHECK(device.is_cuda(), "CUDA weights need a CUDA device, got ", device.str());
  set_current_device(device);
  for (const auto& [name, t] : weights.tensors) {
    shapes_[name] = t.shape();
    Tensor host = t;
    const bool gemm = t.ndim() >= 2 && ends_with(name, ".weight");
    if (gemm && t.ndim() == 4 && name.find("resize_layers.0.") == std::string::npos &&
        name.find("resize_layers.1.") == std::string::npos && name.find("patch_embed.proj") == std::string::npos)
      host = conv_weight_khwc(t);
    if (gemm && t.ndim() == 4 && (name.find("resize_layers.0.") != std::string::npos ||
                          name.find("resize_layers.1.") != std::string::npos))
      host = conv_transpose_weight(t);
    if (ends_with(name, kPatchEmbedSuffix) && precision != cuda::Precision::F32)
      host = pad_columns(host.reshape({t.size(0), t.numel() / t.size(0)}), 8);
    const std::string ls = gemm && precision != cuda::Precision::F32 ? layer_scale_of(name) : "";
    const std::string bias = name.substr(0, name.size() - 6) + "bias";  // "...weight" -> "...bias"
    if (!ls.empty() && weights.tensors.count(ls) && weights.tensors.count(bias)) {
      const Tensor& g = weights.tensors.at(ls);
      host = scale_rows(host, g);
      f32_[bias + kLayerScaled] = scale_rows(weights.tensors.at(bias), g).to(device);
    }
    Tensor dev = host.to(device);
    if (!gemm || precision == cuda::Precision::F32) {
      f32_[name] = dev;
      continue;
    }
    Tensor lp = Tensor::empty({dev.numel() * 2}, DType::U8, device);
    cuda::convert_weights(fp(dev), lp.raw(), dev.numel(), precision);
    lowp_[name] = lp;
  }
}

const float* CudaParams::f32(const std::string& name) const {
  auto it = f32_.find(name);
  VG_CHECK(it != f32_.end(), "CUDA weights: no fp32 parameter ", name);
  return fp(it->second);
}
const float* CudaParams::f32_opt(const std::string& name) const {
  auto it = f32_.find(name);
  return it == f32_.end() ? nullptr : fp(it->second);
}
const void* CudaParams::gemm_w(const std::string& name) const {
  if (precision_ == cuda::Precision::F32) return f32(name);
  auto it = lowp_.find(name);
  VG_CHECK(it != lowp_.end(), "CUDA weights: no GEMM weight ", name);
  return it->second.raw();
}
int64_t CudaParams::patch_embed_k(int64_t patch) const {
  const int64_t K = 3 * patch * patch;
  return precision_ == cuda::Precision::F32 ? K : (K + 7) / 8 * 8;
}

const Shape& CudaParams::shape(const std::string& name) const {
  auto it = shapes_.find(name);
  VG_CHECK(it != shapes_.end(), "CUDA weights: no parameter ", name);
  return it->second;
}

// ---- the transformer --------------------------------------------------------------------------------------

// layers/block.py Block on x [B*N, C]; pos / rope_cs enable RoPE.
void CudaVitRunner::block(float* x, int64_t B, int64_t N, int64_t C, const std::string& pre, int heads, float eps,
                          const int32_t* pos, const float* rope_cs, BlockScratch& s) const {
  const int64_t rows = B * N, D = C / heads;
  auto W = [&](const char* n) { return pre + n; };
  cuda::layer_norm(x, fp(s.h), rows, C, w_.f32(W("norm1.weight")), w_.f32(W("norm1.bias")), eps);
  prof_.tick("layernorm");
  cuda::linear(fp(s.h), rows, C, w_.gemm_w(W("attn.qkv.weight")), 3 * C, w_.f32(W("attn.qkv.bias")), fp(s.qkv),
               3 * C, Epilogue::kStore, nullptr, p_);
  prof_.tick("gemm_qkv");
  const cuda::AttnLayout layout = cuda::attention_layout(static_cast<int>(D), p_);
  VG_CHECK(B * heads * cuda::attention_rows(N, layout) * D * cuda::attention_elem_bytes(p_) <= s.q.numel(),
           "CUDA block scratch too small for the attention layout");
  cuda::attention_prep(fp(s.qkv), B, N, heads, static_cast<int>(D), w_.f32_opt(W("attn.q_norm.weight")),
                       w_.f32_opt(W("attn.q_norm.bias")), w_.f32_opt(W("attn.k_norm.weight")),
                       w_.f32_opt(W("attn.k_norm.bias")), pos, rope_cs, s.q.raw(), s.k.raw(), s.v.raw(), p_, layout);
  prof_.tick("attn_prep");
  cuda::flash_attention(s.q.raw(), s.k.raw(), s.v.raw(), fp(s.h), B, heads, N, static_cast<int>(D), p_, layout);
  prof_.tick("attention");
  residual_linear(fp(s.h), rows, C, W("attn.proj.weight"), W("attn.proj.bias"), W("ls1.gamma"), x, C);
  prof_.tick("gemm_proj");
  cuda::layer_norm(x, fp(s.h), rows, C, w_.f32(W("norm2.weight")), w_.f32(W("norm2.bias")), eps);
  prof_.tick("layernorm");
  for (int64_t r0 = 0; r0 < rows; r0 += s.mlp_rows)
    mlp(fp(s.h) + r0 * C, std::min(s.mlp_rows, rows - r0), C, pre, x + r0 * C, s);
}

// The block's MLP on `rows` rows of its normed input a: x += LayerScale(fc2(GELU(fc1(a)))).
void CudaVitRunner::mlp(const float* a, int64_t rows, int64_t C, const std::string& pre, float* x,
                        BlockScratch& s) const {
  auto W = [&](const char* n) { return pre + n; };
  const int64_t hid = w_.shape(W("mlp.fc1.weight"))[0];
  if (s.hidden16.defined()) {  // 16-bit hand-off: fc1 (+ bias) -> exact GELU rounded to 16 bit -> fc2's operand
    cuda::linear(a, rows, C, w_.gemm_w(W("mlp.fc1.weight")), hid, w_.f32(W("mlp.fc1.bias")), fp(s.hidden),
                 hid, Epilogue::kStore, nullptr, p_);
    cuda::gelu16(fp(s.hidden), s.hidden16.raw(), rows * hid, p_);
    prof_.tick("gemm_fc1");
    if (const float* bs = w_.f32_opt(W("mlp.fc2.bias") + CudaParams::kLayerScaled))
      cuda::linear_a16(s.hidden16.raw(), rows, hid, w_.gemm_w(W("mlp.fc2.weight")), C, bs, x, C, Epilogue::kResidual,
                       nullptr, p_);
    else
      cuda::linear_a16(s.hidden16.raw(), rows, hid, w_.gemm_w(W("mlp.fc2.weight")), C, w_.f32(W("mlp.fc2.bias")), x,
                       C, Epilogue::kResidual, w_.f32(W("ls2.gamma")), p_);
    prof_.tick("gemm_fc2");
    return;
  }
  cuda::linear(a, rows, C, w_.gemm_w(W("mlp.fc1.weight")), hid, w_.f32(W("mlp.fc1.bias")), fp(s.hidden), hid,
               Epilogue::kGelu, nullptr, p_);
  prof_.tick("gemm_fc1");
  residual_linear(fp(s.hidden), rows, hid, W("mlp.fc2.weight"), W("mlp.fc2.bias"), W("ls2.gamma"), x, C);
  prof_.tick("gemm_fc2");
}

// x += gamma * (A W^T + b): with the LayerScale folded into W and b at upload (16-bit precisions) a plain
// residual GEMM, else the LayerScale epilogue.
void CudaVitRunner::residual_linear(const float* a, int64_t rows, int64_t K, const std::string& w,
                                    const std::string& b, const std::string& gamma, float* x, int64_t N) const {
  if (const float* bs = w_.f32_opt(b + CudaParams::kLayerScaled))
    cuda::linear(a, rows, K, w_.gemm_w(w), N, bs, x, N, Epilogue::kResidual, nullptr, p_);
  else
    cuda::linear(a, rows, K, w_.gemm_w(w), N, w_.f32(b), x, N, Epilogue::kResidual, w_.f32(gamma), p_);
}

void CudaVitRunner::dino_forward(const DinoVitSpec& spec, const float* pos, const float* images, int64_t S, int64_t H,
                                 int64_t W, float* x, float* xn, BlockScratch& s) const {
  const int64_t p = spec.patch, P = (H / p) * (W / p), E = spec.embed_dim, R = spec.registers, T = 1 + R + P;
  const std::string& pre = spec.prefix;
  {  // patch embedding: Conv2d(p, stride p) as im2col + GEMM, then [cls + pos0, registers, patches + pos]
    const int64_t K = w_.patch_embed_k(p);
    Tensor col = Tensor::empty({S * P, K}, DType::F32, d_), patches = Tensor::empty({S * P, E}, DType::F32, d_);
    cuda::patch_im2col(images, S, H, W, static_cast<int>(p), fp(col), K);
    cuda::linear(fp(col), S * P, K, w_.gemm_w(pre + kPatchEmbedSuffix), E, w_.f32(pre + "patch_embed.proj.bias"),
                 fp(patches), E, Epilogue::kStore, nullptr, p_);
    cuda::dino_tokens(fp(patches), w_.f32(pre + "cls_token"), R > 0 ? w_.f32(pre + "register_tokens") : nullptr, pos,
                      S, R, P, E, x);
    prof_.tick("patch_embed");
  }
  for (int i = 0; i < spec.depth; ++i)
    block(x, S, T, E, pre + "blocks." + std::to_string(i) + ".", spec.heads, 1e-6f, nullptr, nullptr, s);
  cuda::layer_norm(x, xn, S * T, E, w_.f32(pre + "norm.weight"), w_.f32(pre + "norm.bias"), 1e-6f);
  prof_.tick("layernorm");
}

}  // namespace vg::vggt
