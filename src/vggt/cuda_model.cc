// CudaVggtModel: weight upload and the forward pass (aggregator, camera head, DPT heads) as a sequence of
// launches from vggt/cuda_ops.h on the default stream. Mirrors aggregator.cc, block.cc, camera_head.cc and
// dpt_head.cc step by step (see those for the official-code references).
#include "vggt/cuda_model.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "core/cuda_memory.h"
#include "core/error.h"
#include "vggt/cpu_ops.h"

namespace vg::vggt {

namespace {

using cuda::Epilogue;

float* fp(Tensor& t) { return t.data<float>(); }
const float* fp(const Tensor& t) { return t.data<float>(); }

}  // namespace

cuda::Precision default_cuda_precision(const Device& device) {
  for (const GpuInfo& g : list_gpus())
    if (g.index == device.index) return g.cc_major >= 8 ? cuda::Precision::BF16 : cuda::Precision::F16;
  VG_FAIL("VGGT: no CUDA device ", device.index);
}

CudaVggtModel::CudaVggtModel(VggtConfig cfg, const VggtWeights& weights, Device device, cuda::Precision precision)
    : cfg_(cfg), device_(device), precision_(precision) {
  VG_CHECK(device.is_cuda(), "CudaVggtModel needs a CUDA device, got ", device.str());
  auto pe = weights.tensors.find("aggregator.patch_embed.pos_embed");
  VG_CHECK(pe != weights.tensors.end(), "VGGT: weights lack aggregator.patch_embed.pos_embed");
  pos_embed_host_ = pe->second;
  params_ = CudaParams(weights, device, precision);
}

// ---- the forward pass ------------------------------------------------------------------------------------

class CudaVggtRunner {
 public:
  CudaVggtRunner(const CudaVggtModel& m, OpProfile& prof)
      : m_(m), c_(m.config()), p_(m.precision()), d_(m.device()), prof_(prof), vit_(m.params_, prof) {}

  // layers/block.py Block (cuda_vit.h).
  void block(float* x, int64_t B, int64_t N, int64_t C, const std::string& pre, int heads, float eps,
             const int32_t* pos, const float* rope_cs, BlockScratch& s) const {
    vit_.block(x, B, N, C, pre, heads, eps, pos, rope_cs, s);
  }

  // Conv2d on NHWC x [H, W, Cin] (weights permuted at upload); returns [Ho, Wo, Cout].
  Tensor conv(const float* x, int64_t H, int64_t W, int64_t Cin, const std::string& name, int stride, int pad,
              bool bias, Epilogue epi, int64_t& Ho, int64_t& Wo) const {
    const Shape& s = m_.shape(name + ".weight");
    const int64_t O = s[0], k = s[2];
    Ho = (H + 2 * pad - k) / stride + 1;
    Wo = (W + 2 * pad - k) / stride + 1;
    Tensor out = Tensor::empty({Ho * Wo, O}, DType::F32, d_);
    const float* a = x;
    Tensor col;
    if (k != 1 || stride != 1 || pad != 0) {
      if (conv3x3_a16(x, H, W, Cin, static_cast<int>(k), stride, pad, name + ".weight", bias ? m_.f32(name + ".bias") : nullptr,
                      fp(out), Ho, Wo, O, epi))
        return out;
      col = Tensor::empty({Ho * Wo, k * k * Cin}, DType::F32, d_);
      cuda::im2col(x, H, W, Cin, static_cast<int>(k), stride, pad, fp(col), Ho, Wo);
      a = fp(col);
      prof_.tick("im2col");
    }
    cuda::linear(a, Ho * Wo, k * k * Cin, m_.gemm_w(name + ".weight"), O, bias ? m_.f32(name + ".bias") : nullptr,
                 fp(out), O, epi, nullptr, p_);
    prof_.tick(k == 1 ? "gemm_conv1x1" : "gemm_conv3x3");
    return out;
  }

  // 16-bit precisions with cuBLASLt: im2col straight to 16 bit, GEMM without a rounding pass (x [H, W, Cin] ->
  // out [Ho, Wo, O]). False (nothing done) when that path is unavailable.
  bool conv3x3_a16(const float* x, int64_t H, int64_t W, int64_t Cin, int k, int stride, int pad,
                   const std::string& weight, const float* bias, float* out, int64_t Ho, int64_t Wo, int64_t O,
                   Epilogue epi) const {
    const int64_t K = static_cast<int64_t>(k) * k * Cin;
    if (!cuda::linear_a16_supported(K, p_)) return false;
    Tensor col = Tensor::empty({(Ho * Wo * K + 1) / 2}, DType::F32, d_);  // Ho*Wo*K 16-bit values
    cuda::im2col16(x, H, W, Cin, k, stride, pad, col.raw(), Ho, Wo, p_);
    prof_.tick("im2col");
    cuda::linear_a16(col.raw(), Ho * Wo, K, m_.gemm_w(weight), O, bias, out, O, epi, nullptr, p_);
    prof_.tick("gemm_conv3x3");
    return true;
  }

  // ResidualConvUnit with the official in-place ReLU: conv2(relu(conv1(relu(x)))) + relu(x).
  Tensor residual_unit(const float* x, int64_t H, int64_t W, int64_t C, const std::string& pre) const {
    Tensor xr = Tensor::empty({H * W, C}, DType::F32, d_);
    cuda::relu(x, fp(xr), H * W * C);
    prof_.tick("elementwise");
    int64_t ho, wo;
    Tensor h = conv(fp(xr), H, W, C, pre + "conv1", 1, 1, true, Epilogue::kRelu, ho, wo);
    if (conv3x3_a16(fp(h), H, W, C, 3, 1, 1, pre + "conv2.weight", m_.f32(pre + "conv2.bias"), fp(xr), H, W, C,
                    Epilogue::kResidual))
      return xr;
    Tensor col = Tensor::empty({H * W, 9 * C}, DType::F32, d_);
    cuda::im2col(fp(h), H, W, C, 3, 1, 1, fp(col), H, W);
    prof_.tick("im2col");
    cuda::linear(fp(col), H * W, 9 * C, m_.gemm_w(pre + "conv2.weight"), C, m_.f32(pre + "conv2.bias"), fp(xr), C,
                 Epilogue::kResidual, nullptr, p_);
    prof_.tick("gemm_conv3x3");
    return xr;
  }

  // FeatureFusionBlock: (x [+ RCU1(skip)]) -> RCU2 -> bilinear (align_corners) to (ho, wo) -> 1x1 out_conv.
  Tensor fusion(Tensor x, const Tensor* skip, int64_t H, int64_t W, int64_t C, int64_t ho, int64_t wo,
                const std::string& pre) const {
    if (skip) {
      Tensor r = residual_unit(fp(*skip), H, W, C, pre + "resConfUnit1.");
      cuda::add(fp(x), fp(r), fp(x), H * W * C);
      prof_.tick("elementwise");
    }
    x = residual_unit(fp(x), H, W, C, pre + "resConfUnit2.");
    Tensor up = Tensor::empty({ho * wo, C}, DType::F32, d_);
    cuda::bilinear(fp(x), H, W, C, ho, wo, true, fp(up));
    prof_.tick("bilinear");
    int64_t a, b;
    return conv(fp(up), ho, wo, C, pre + "out_conv", 1, 0, true, Epilogue::kStore, a, b);
  }

  // heads/dpt_head.py for frame s: raw head output [H*W, out_channels] (NHWC).
  Tensor dpt_frame(const std::string& pre, const std::map<int, Tensor>& tokens, int64_t s, int64_t H, int64_t W) const {
    const int64_t ph = H / c_.patch_size, pw = W / c_.patch_size, P = ph * pw, D = c_.token_dim();
    Tensor feats[4];
    int64_t fh[4], fw[4];
    Tensor ln = Tensor::empty({P, D}, DType::F32, d_);
    for (int k = 0; k < 4; ++k) {
      const Tensor& t = tokens.at(c_.dpt_layers[k]);
      const int64_t T = t.size(1);
      cuda::layer_norm(fp(t) + (s * T + c_.patch_start()) * D, fp(ln), P, D, m_.f32(pre + "norm.weight"),
                       m_.f32(pre + "norm.bias"), 1e-5f);
      prof_.tick("layernorm");
      const std::string pj = pre + "projects." + std::to_string(k);
      const int64_t oc = m_.shape(pj + ".weight")[0];
      Tensor f = Tensor::empty({P, oc}, DType::F32, d_);
      cuda::linear(fp(ln), P, D, m_.gemm_w(pj + ".weight"), oc, m_.f32(pj + ".bias"), fp(f), oc, Epilogue::kStore,
                   nullptr, p_);
      prof_.tick("gemm_project");
      cuda::add_uv_pos_embed(fp(f), ph, pw, oc, W, H);
      prof_.tick("elementwise");
      const std::string rl = pre + "resize_layers." + std::to_string(k);
      int64_t h = ph, w = pw;
      if (k <= 1) {  // ConvTranspose2d, kernel = stride = 4 / 2
        const int kk = k == 0 ? 4 : 2;
        Tensor g = Tensor::empty({P, kk * kk * oc}, DType::F32, d_);
        cuda::linear(fp(f), P, oc, m_.gemm_w(rl + ".weight"), kk * kk * oc, nullptr, fp(g), kk * kk * oc,
                     Epilogue::kStore, nullptr, p_);
        prof_.tick("gemm_convT");
        h = ph * kk, w = pw * kk;
        f = Tensor::empty({h * w, oc}, DType::F32, d_);
        cuda::conv_transpose_scatter(fp(g), ph, pw, oc, kk, m_.f32(rl + ".bias"), fp(f));
        prof_.tick("elementwise");
      } else if (k == 3) {
        f = conv(fp(f), ph, pw, oc, rl, 2, 1, true, Epilogue::kStore, h, w);
      }
      feats[k] = conv(fp(f), h, w, oc, pre + "scratch.layer" + std::to_string(k + 1) + "_rn", 1, 1, false,
                      Epilogue::kStore, fh[k], fw[k]);
    }
    const std::string sc = pre + "scratch.";
    const int64_t F = c_.dpt_features;
    Tensor out = fusion(feats[3], nullptr, fh[3], fw[3], F, fh[2], fw[2], sc + "refinenet4.");
    out = fusion(out, &feats[2], fh[2], fw[2], F, fh[1], fw[1], sc + "refinenet3.");
    out = fusion(out, &feats[1], fh[1], fw[1], F, fh[0], fw[0], sc + "refinenet2.");
    out = fusion(out, &feats[0], fh[0], fw[0], F, 2 * fh[0], 2 * fw[0], sc + "refinenet1.");
    int64_t h = 2 * fh[0], w = 2 * fw[0], a, b;
    out = conv(fp(out), h, w, F, sc + "output_conv1", 1, 1, true, Epilogue::kStore, a, b);
    const int64_t C1 = m_.shape(sc + "output_conv1.weight")[0];
    Tensor up = Tensor::empty({H * W, C1}, DType::F32, d_);
    cuda::bilinear(fp(out), h, w, C1, ph * c_.patch_size, pw * c_.patch_size, true, fp(up));
    prof_.tick("bilinear");
    cuda::add_uv_pos_embed(fp(up), H, W, C1, W, H);
    prof_.tick("elementwise");
    out = conv(fp(up), H, W, C1, sc + "output_conv2.0", 1, 1, true, Epilogue::kRelu, a, b);
    const int64_t C2 = m_.shape(sc + "output_conv2.0.weight")[0];
    return conv(fp(out), H, W, C2, sc + "output_conv2.2", 1, 0, true, Epilogue::kStore, a, b);
  }

  // heads/camera_head.py on the last aggregator output [S, T, 2E]: one activated [S,9] per iteration.
  std::vector<Tensor> camera_head(const Tensor& last) const {
    const int64_t S = last.size(0), T = last.size(1), D = last.size(2);
    const std::string pre = "camera_head.";
    auto W = [&](const std::string& n) { return pre + n; };
    Tensor cam = Tensor::empty({S, D}, DType::F32, d_), tokens = Tensor::empty({S, D}, DType::F32, d_);
    Tensor normed = Tensor::empty({S, D}, DType::F32, d_);
    cuda::copy_rows(fp(last), T * D, 0, fp(cam), D, 0, S, D);
    cuda::layer_norm(fp(cam), fp(tokens), S, D, m_.f32(W("token_norm.weight")), m_.f32(W("token_norm.bias")), 1e-5f);
    cuda::layer_norm(fp(tokens), fp(normed), S, D, nullptr, nullptr, 1e-6f);
    Tensor pred = Tensor::empty({S, 9}, DType::F32, d_), delta = Tensor::empty({S, 9}, DType::F32, d_);
    Tensor mod_in = Tensor::empty({S, D}, DType::F32, d_), mod = Tensor::empty({S, 3 * D}, DType::F32, d_);
    Tensor x = Tensor::empty({S, D}, DType::F32, d_), h = Tensor::empty({S, D}, DType::F32, d_);
    const int64_t hid = m_.shape(W("pose_branch.fc1.weight"))[0];
    const int64_t trunk_hidden = c_.camera_trunk_depth > 0 ? m_.shape(W("trunk.0.mlp.fc1.weight"))[0] : 1;
    Tensor hidden = Tensor::empty({S, hid}, DType::F32, d_);
    BlockScratch scratch(S, D, trunk_hidden, d_, p_, 1);
    std::vector<Tensor> outs;
    for (int it = 0; it < c_.camera_iterations; ++it) {
      if (it == 0) cuda::broadcast_rows(m_.f32(W("empty_pose_tokens")), S, 9, fp(pred));
      cuda::linear(fp(pred), S, 9, m_.gemm_w(W("embed_pose.weight")), D, m_.f32(W("embed_pose.bias")), fp(mod_in), D,
                   Epilogue::kStore, nullptr, p_);
      cuda::silu(fp(mod_in), fp(mod_in), S * D);
      cuda::linear(fp(mod_in), S, D, m_.gemm_w(W("poseLN_modulation.1.weight")), 3 * D,
                   m_.f32(W("poseLN_modulation.1.bias")), fp(mod), 3 * D, Epilogue::kStore, nullptr, p_);
      cuda::adaln_modulate(fp(normed), fp(tokens), fp(mod), S, D, fp(x));
      prof_.tick("other");
      for (int i = 0; i < c_.camera_trunk_depth; ++i)
        block(fp(x), 1, S, D, W("trunk." + std::to_string(i) + "."), c_.camera_heads, 1e-5f, nullptr, nullptr, scratch);
      cuda::layer_norm(fp(x), fp(h), S, D, m_.f32(W("trunk_norm.weight")), m_.f32(W("trunk_norm.bias")), 1e-5f);
      cuda::linear(fp(h), S, D, m_.gemm_w(W("pose_branch.fc1.weight")), hid, m_.f32(W("pose_branch.fc1.bias")),
                   fp(hidden), hid, Epilogue::kGelu, nullptr, p_);
      cuda::linear(fp(hidden), S, hid, m_.gemm_w(W("pose_branch.fc2.weight")), 9, m_.f32(W("pose_branch.fc2.bias")),
                   fp(delta), 9, Epilogue::kStore, nullptr, p_);
      Tensor act = Tensor::empty({S, 9}, DType::F32, d_);
      cuda::pose_update(fp(pred), fp(delta), fp(act), S, it > 0);
      prof_.tick("other");
      outs.push_back(act);
    }
    return outs;
  }

  const CudaVggtModel& m_;
  const VggtConfig& c_;
  cuda::Precision p_;
  Device d_;
  OpProfile& prof_;
  CudaVitRunner vit_;
};

namespace {

// RoPE (cos, sin) table for positions 0..max_pos and head dim D, computed as ops::rope2d_ does.
Tensor rope_table(int64_t max_pos, int64_t D, float freq) {
  const int64_t fd = D / 2, half = fd / 2;
  Tensor t = Tensor::empty({max_pos + 1, half, 2});
  float* v = t.data<float>();
  for (int64_t p = 0; p <= max_pos; ++p)
    for (int64_t j = 0; j < half; ++j) {
      const float inv = 1.0f / std::pow(freq, static_cast<float>(2 * j) / static_cast<float>(fd));
      const float a = static_cast<float>(p) * inv;
      v[(p * half + j) * 2] = std::cos(a);
      v[(p * half + j) * 2 + 1] = std::sin(a);
    }
  return t;
}

}  // namespace

VggtOutput CudaVggtModel::forward(const Tensor& images_in, const VggtOptions& opts) const {
  VG_CHECK(images_in.ndim() == 4 && images_in.size(1) == 3 && images_in.dtype() == DType::F32,
           "VGGT: images must be F32 [S,3,H,W], got ", shape_str(images_in.shape()));
  set_current_device(device_);
  const VggtConfig& c = cfg_;
  const int64_t S = images_in.size(0), H = images_in.size(2), W = images_in.size(3), p = c.patch_size;
  VG_CHECK(S >= 1 && H % p == 0 && W % p == 0, "VGGT: image size ", H, "x", W, " is not a multiple of the patch size ", p);
  const Device d = device_;
  const Tensor images = images_in.device() == d ? images_in : images_in.to(d);
  const int64_t ph = H / p, pw = W / p, P = ph * pw, E = c.embed_dim, R = c.num_register_tokens, T = 1 + R + P;
  // VGSPLAT_VGGT_PROFILE=1: synchronise at stage boundaries and print the seconds of each stage (stderr);
  // =2 also the seconds of every (scope, op) (OpProfile, vggt/cuda_profile.h).
  const char* profile_env = std::getenv("VGSPLAT_VGGT_PROFILE");
  const bool profile = profile_env != nullptr;
  OpProfile prof(profile_env != nullptr && std::atoi(profile_env) >= 2);
  CudaVggtRunner run(*this, prof);
  auto t_last = std::chrono::steady_clock::now();
  auto stage = [&](const char* name) {
    if (!profile) return;
    cuda_synchronize();
    const auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "[vggt profile] S=%lld %-11s %.4f s\n", static_cast<long long>(S), name,
                 std::chrono::duration<double>(now - t_last).count());
    t_last = now;
  };
  const int64_t mlp_hidden = std::max(shape("aggregator.frame_blocks.0.mlp.fc1.weight")[0],
                                      shape("aggregator.patch_embed.blocks.0.mlp.fc1.weight")[0]);
  BlockScratch scratch(S * T, E, mlp_hidden, d, precision_, S);  // planned once for every aggregator / DINOv2 block

  // DINOv2 forward_features (cuda_vit.h): patch embedding, tokens, blocks, final norm.
  prof.scope("dino");
  Tensor x = Tensor::empty({S * T, E}, DType::F32, d), xn = Tensor::empty({S * T, E}, DType::F32, d);
  {
    const DinoVitSpec spec{"aggregator.patch_embed.", p, E, static_cast<int>(R), c.dino_depth, c.dino_heads};
    const Tensor pos = dino_pos_embed(pos_embed_host_, ph, pw).to(d);
    run.vit_.dino_forward(spec, fp(pos), fp(images), S, H, W, fp(x), fp(xn), scratch);
  }
  stage("dinov2");
  prof.scope("aggregator");
  VggtOutput out;
  out.dino_patch_tokens = Tensor::empty({S, P, E}, DType::F32, d);
  for (int64_t s = 0; s < S; ++s)
    cuda::copy_rows(fp(xn) + (s * T + 1 + R) * E, E, 0, fp(out.dino_patch_tokens) + s * P * E, E, 0, P, E);

  // Aggregator: camera / register tokens, alternating frame and global attention with 2-D RoPE.
  cuda::aggregator_tokens(fp(xn), T, f32("aggregator.camera_token"), f32("aggregator.register_token"), S, R, P, E, fp(x));
  xn = Tensor();
  std::vector<int32_t> pos_host(static_cast<size_t>(S * T * 2), 0);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = 0; i < P; ++i) {
      pos_host[2 * (s * T + 1 + R + i)] = static_cast<int32_t>(i / pw + 1);
      pos_host[2 * (s * T + 1 + R + i) + 1] = static_cast<int32_t>(i % pw + 1);
    }
  const Tensor pos = Tensor::from_vector(pos_host, {S * T, 2}, d);
  const Tensor rope = rope_table(std::max(ph, pw) + 1, E / c.num_heads, c.rope_freq).to(d);
  std::vector<int> keep(c.dpt_layers.begin(), c.dpt_layers.end());
  keep.push_back(c.depth - 1);
  if (opts.keep_all_tokens)
    for (int i = 0; i < c.depth; ++i) keep.push_back(i);
  for (int i : keep)
    if (!out.tokens.count(i)) out.tokens[i] = Tensor::empty({S, T, 2 * E}, DType::F32, d);
  prof.tick("tokens");
  for (int i = 0; i < c.depth; ++i) {
    const std::string idx = std::to_string(i) + ".";
    const int32_t* ps = pos.data<int32_t>();
    prof.scope("frame");
    run.block(fp(x), S, T, E, "aggregator.frame_blocks." + idx, c.num_heads, 1e-5f, ps, fp(rope), scratch);
    auto kept = out.tokens.find(i);
    if (kept != out.tokens.end()) cuda::copy_rows(fp(x), E, 0, fp(kept->second), 2 * E, 0, S * T, E);
    prof.tick("keep_tokens");
    prof.scope("global");
    run.block(fp(x), 1, S * T, E, "aggregator.global_blocks." + idx, c.num_heads, 1e-5f, ps, fp(rope), scratch);
    if (kept != out.tokens.end()) cuda::copy_rows(fp(x), E, 0, fp(kept->second), 2 * E, E, S * T, E);
    prof.tick("keep_tokens");
  }
  scratch.release();
  x = Tensor();
  stage("aggregator");

  // Camera head, pose encoding -> extrinsics / intrinsics (the one read-back).
  prof.scope("camera");
  out.pose_enc_iters = run.camera_head(out.tokens.at(c.depth - 1));
  out.pose_enc = out.pose_enc_iters.back();
  Tensor extr, intr;
  pose_encoding_to_extri_intri(out.pose_enc.to(Device::cpu()), H, W, extr, intr);
  out.extrinsics = extr.to(d);
  out.intrinsics = intr.to(d);
  prof.tick("other");
  stage("camera_head");
  prof.scope("dpt");
  // DPT heads, one frame at a time (bounded scratch).
  const int64_t HW = H * W;
  out.depth = Tensor::empty({S, H, W}, DType::F32, d);
  out.depth_conf = Tensor::empty({S, H, W}, DType::F32, d);
  if (opts.point_head) {
    out.world_points = Tensor::empty({S, H, W, 3}, DType::F32, d);
    out.world_points_conf = Tensor::empty({S, H, W}, DType::F32, d);
  }
  for (int64_t s = 0; s < S; ++s) {
    Tensor o = run.dpt_frame("depth_head.", out.tokens, s, H, W);
    cuda::head_activation(fp(o), HW, 2, fp(out.depth) + s * HW, fp(out.depth_conf) + s * HW);
    prof.tick("elementwise");
    if (!opts.point_head) continue;
    o = run.dpt_frame("point_head.", out.tokens, s, H, W);
    cuda::head_activation(fp(o), HW, 4, fp(out.world_points) + s * HW * 3, fp(out.world_points_conf) + s * HW);
    prof.tick("elementwise");
  }
  stage("dpt_heads");
  prof.print(S);
  return out;
}

}  // namespace vg::vggt
