// CudaTrackPredictor: BaseTrackerPredictor.forward (track_modules/base_track_predictor.py) on CUDA, step by step as
// tracker_predictor.cc (the CPU fp32 reference), B batch elements per launch. The kernels are in
// cuda_predictor_kernels.cu / cuda_predictor_attention.cu; GEMMs and LayerNorm are the VGGT engine's.
#include "tracks/cuda_predictor.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

#if VGSPLAT_HAS_CUDA
#include "tracks/cuda_predictor_kernels.h"
#endif

namespace vg::tracks::cuda {

#if VGSPLAT_HAS_CUDA

namespace vc = vggt::cuda;
using vc::Epilogue;

namespace {
float* fp(Tensor& t) { return t.data<float>(); }
const float* fp(const Tensor& t) { return t.data<float>(); }
}  // namespace

// Device buffers of one forward, sized for the largest use.
struct CudaTrackPredictor::Work {
  Tensor init, tokens, tmp;      // [R, E], [T, E] x 2 (T = B (N+V) S token rows)
  Tensor ln, qkv, att, hid;      // [T, E], [T, 3E], [T, E], [T, 4E]
  Tensor points, points2, virt, virt2, kv, ctxn;  // space attention (V > 0)
  Tensor real;                   // [R, E]
};

CudaTrackPredictor::CudaTrackPredictor(const StateDict& w, const std::string& prefix, const TrackPredictorConfig& cfg,
                                       Device d, vc::Precision p)
    : pre_(prefix), cfg_(cfg), device_(d), precision_(p) {
  VG_CHECK(d.is_cuda(), "CudaTrackPredictor needs a CUDA device");
  const std::string head = prefix + ".";
  for (const auto& [name, t] : w.tensors) {
    if (name.compare(0, head.size(), head) != 0) continue;
    const std::string rel = name.substr(head.size());
    shapes_[rel] = t.shape();
    Tensor dev = t.to(d);
    const bool gemm = t.ndim() == 2 && (rel.size() > 7 && rel.compare(rel.size() - 6, 6, "weight") == 0);
    if (gemm && p != vc::Precision::F32) {
      Tensor lp = Tensor::empty({dev.numel() * 2}, DType::U8, d);
      vc::convert_weights(fp(dev), lp.raw(), dev.numel(), p);
      lowp_[rel] = lp;
    }
    f32_[rel] = std::move(dev);
  }
  VG_CHECK(!f32_.empty(), "CudaTrackPredictor: no weights under '", prefix, "'");
  const int64_t hd = cfg.hidden_size / cfg.num_heads;
  const bool hd_ok = hd == 8 || hd == 16 || hd == 32 || hd == 48 || hd == 64;
  VG_CHECK(cfg.hidden_size % cfg.num_heads == 0 && hd_ok, "CudaTrackPredictor: head dim ", hd,
           " (the CUDA attention supports 8, 16, 32, 48, 64)");
  const int64_t r = cfg.corr_radius, width = cfg.corr_levels * (2 * r + 1) * (2 * r + 1) + 2 * cfg.latent_dim + 2;
  VG_CHECK(width <= cfg.transformer_dim() && cfg.latent_dim % 4 == 0, "CudaTrackPredictor: transformer input ", width,
           " channels does not fit the padded width ", cfg.transformer_dim());
  VG_CHECK(cfg.corr_levels <= CorrPyramid::kMaxLevels, "CudaTrackPredictor: at most ", CorrPyramid::kMaxLevels,
           " correlation levels");
}

const float* CudaTrackPredictor::f32(const std::string& name) const {
  auto it = f32_.find(name);
  VG_CHECK(it != f32_.end(), "CudaTrackPredictor: no parameter ", pre_, ".", name);
  return fp(it->second);
}

const void* CudaTrackPredictor::gemm_w(const std::string& name) const {
  if (precision_ == vc::Precision::F32) return f32(name);
  auto it = lowp_.find(name);
  VG_CHECK(it != lowp_.end(), "CudaTrackPredictor: no GEMM weight ", pre_, ".", name);
  return it->second.raw();
}

const void* CudaTrackPredictor::gemm_rows(const std::string& name, int64_t row0) const {
  const int64_t K = shapes_.at(name)[1];
  const int64_t elem = precision_ == vc::Precision::F32 ? 4 : 2;
  return static_cast<const char*>(gemm_w(name)) + row0 * K * elem;
}

// `name` is the weight's prefix-relative key; the bias is the same key with "weight" -> "bias".
void CudaTrackPredictor::lin(const float* x, int64_t M, const std::string& name, float* y, Epilogue epi,
                             int64_t row0, int64_t n_out) const {
  const Shape& s = shapes_.at(name);
  const int64_t N = n_out < 0 ? s[0] : n_out, K = s[1];
  const std::string bias = name.substr(0, name.size() - 6) + "bias";
  vc::linear(x, M, K, gemm_rows(name, row0), N, f32(bias) + row0, y, N, epi, nullptr, precision_);
}

// h += Mlp(LayerNorm(h)) (modules.py::Mlp, exact GELU; norm2 without affine, eps 1e-6).
void CudaTrackPredictor::mlp_residual(const std::string& pre, float* h, int64_t rows, Work& wk) const {
  const int64_t E = cfg_.hidden_size;
  vc::layer_norm(h, fp(wk.ln), rows, E, nullptr, nullptr, 1e-6f);
  lin(fp(wk.ln), rows, pre + ".fc1.weight", fp(wk.hid), Epilogue::kGelu);
  lin(fp(wk.hid), rows, pre + ".fc2.weight", h, Epilogue::kResidual);
}

// modules.py::AttnBlock on x [M,L,E] -> h: h = LN(x); h += MHA(h); h += Mlp(LN(h)).
void CudaTrackPredictor::attn_block(const std::string& pre, const float* x, float* h, int64_t M, int64_t L,
                                    Work& wk) const {
  const int64_t E = cfg_.hidden_size, rows = M * L;
  const int H = cfg_.num_heads;
  vc::layer_norm(x, h, rows, E, nullptr, nullptr, 1e-6f);
  lin(h, rows, pre + ".attn.in_proj_weight", fp(wk.qkv), Epilogue::kStore);
  const float* qkv = fp(wk.qkv);
  mha(qkv, 3 * E, qkv + E, qkv + 2 * E, 3 * E, fp(wk.att), E, M, H, L, L, static_cast<int>(E / H));
  lin(fp(wk.att), rows, pre + ".attn.out_proj.weight", h, Epilogue::kResidual);
  mlp_residual(pre + ".mlp", h, rows, wk);
}

// modules.py::CrossAttnBlock: x [M,Lq,E] attends to ctx [M,Lk,E] -> h (norm_context affine, eps 1e-5).
void CudaTrackPredictor::cross_attn_block(const std::string& pre, const float* x, const float* ctx, float* h,
                                          int64_t M, int64_t Lq, int64_t Lk, Work& wk) const {
  const int64_t E = cfg_.hidden_size;
  const int H = cfg_.num_heads;
  vc::layer_norm(x, h, M * Lq, E, nullptr, nullptr, 1e-6f);
  vc::layer_norm(ctx, fp(wk.ctxn), M * Lk, E, f32(pre + ".norm_context.weight"), f32(pre + ".norm_context.bias"),
                 1e-5f);
  const std::string in = pre + ".cross_attn.in_proj_weight";  // rows [0, E): q; [E, 3E): k then v
  lin(h, M * Lq, in, fp(wk.qkv), Epilogue::kStore, 0, E);
  lin(fp(wk.ctxn), M * Lk, in, fp(wk.kv), Epilogue::kStore, E, 2 * E);
  const float* kv = fp(wk.kv);
  mha(fp(wk.qkv), E, kv, kv + E, 2 * E, fp(wk.att), E, M, H, Lq, Lk, static_cast<int>(E / H));
  lin(fp(wk.att), M * Lq, pre + ".cross_attn.out_proj.weight", h, Epilogue::kResidual);
  mlp_residual(pre + ".mlp", h, M * Lq, wk);
}

// EfficientUpdateFormer.forward on x [B*N*S, D] -> delta [B*N*S, L+2]: time attention per track (and per virtual
// track), space attention through the virtual tracks after every time block (as many space blocks as time blocks).
void CudaTrackPredictor::update_former(const float* x, int64_t B, int64_t N, int64_t S, Work& wk,
                                       float* delta) const {
  const int64_t E = cfg_.hidden_size, R = B * N * S;
  const int64_t V = cfg_.use_spaceatt ? cfg_.num_virtual_tracks : 0;
  const std::string uf = "updateformer.";
  lin(x, R, uf + "input_transform.weight", fp(wk.init), Epilogue::kStore);
  assemble_tokens(fp(wk.init), V > 0 ? f32(uf + "virual_tracks") : nullptr, B, N, V, S, E, fp(wk.tokens));
  for (int i = 0; i < cfg_.depth; ++i) {
    const std::string is = std::to_string(i);
    attn_block(uf + "time_blocks." + is, fp(wk.tokens), fp(wk.tmp), B * (N + V), S, wk);
    std::swap(wk.tokens, wk.tmp);
    if (V == 0) continue;
    space_split(fp(wk.tokens), fp(wk.points), fp(wk.virt), B, N, V, S, E, true);
    cross_attn_block(uf + "space_virtual2point_blocks." + is, fp(wk.virt), fp(wk.points), fp(wk.virt2), B * S, V, N,
                     wk);
    attn_block(uf + "space_virtual_blocks." + is, fp(wk.virt2), fp(wk.virt), B * S, V, wk);
    cross_attn_block(uf + "space_point2virtual_blocks." + is, fp(wk.points), fp(wk.virt), fp(wk.points2), B * S, N,
                     V, wk);
    space_split(fp(wk.tokens), fp(wk.points2), fp(wk.virt), B, N, V, S, E, false);
  }
  real_plus_init(fp(wk.tokens), fp(wk.init), B, N, V, S, E, fp(wk.real));
  lin(fp(wk.real), R, uf + "flow_head.weight", delta, Epilogue::kStore);
}

CudaTrackPredictor::Result CudaTrackPredictor::forward(const Tensor& fmaps, const Tensor& query_in, int iters,
                                                       int down_ratio) const {
  VG_CHECK(fmaps.ndim() == 5 && fmaps.dtype() == DType::F32 && fmaps.device() == device_,
           "CudaTrackPredictor: fmaps must be [B,S,h,w,C] F32 on the predictor's device, got ",
           shape_str(fmaps.shape()));
  const int64_t B = fmaps.size(0), S = fmaps.size(1), H = fmaps.size(2), W = fmaps.size(3), C = fmaps.size(4);
  VG_CHECK(query_in.ndim() == 3 && query_in.size(0) == B && query_in.size(2) == 2 && query_in.dtype() == DType::F32,
           "CudaTrackPredictor: query must be [B,N,2] F32, got ", shape_str(query_in.shape()));
  const int64_t L = cfg_.latent_dim, D = cfg_.transformer_dim(), E = cfg_.hidden_size, N = query_in.size(1);
  VG_CHECK(C == L, "the tracker's feature maps have ", C, " channels, the predictor expects ", L);
  const int r = cfg_.corr_radius;
  const int64_t V = cfg_.use_spaceatt ? cfg_.num_virtual_tracks : 0;
  const Tensor query = query_in.device() == device_ ? query_in : query_in.to(device_);
  const int64_t R = B * N * S, T = B * (N + V) * S;
  const Device d = device_;
  auto buf = [&](int64_t rows, int64_t cols) { return Tensor::empty({rows, cols}, DType::F32, d); };

  Tensor coords = buf(R, 2), feats = buf(R, L), pos = buf(B * N, D);
  init_queries(fp(query), fp(fmaps), B, N, S, H, W, C, D, static_cast<float>(down_ratio),
               static_cast<float>(cfg_.stride), fp(coords), fp(feats), fp(pos));
  // CorrBlock's pyramid, NHWC: level 0 the maps themselves, each next one avg-pooled 2x2.
  std::vector<Tensor> levels{fmaps};
  CorrPyramid pyr{};
  pyr.levels = cfg_.corr_levels;
  int64_t h = H, w = W;
  for (int l = 0; l < cfg_.corr_levels; ++l) {
    if (l > 0) {
      VG_CHECK(h >= 2 && w >= 2, "the tracker's correlation pyramid needs ", cfg_.corr_levels, " levels but the ",
               "feature map is ", W, "x", H, " (use larger images)");
      Tensor next = Tensor::empty({B * S, h / 2, w / 2, C}, DType::F32, d);
      avg_pool2(fp(levels.back()), B * S, h, w, C, fp(next));
      levels.push_back(next);
      h /= 2, w /= 2;
    }
    pyr.maps[l] = fp(levels.back());
    pyr.h[l] = h, pyr.w[l] = w;
  }

  Work wk;
  wk.init = buf(R, E), wk.real = buf(R, E);
  wk.tokens = buf(T, E), wk.tmp = buf(T, E), wk.ln = buf(T, E), wk.att = buf(T, E);
  wk.qkv = buf(T, 3 * E), wk.hid = buf(T, 4 * E);
  if (V > 0) {
    wk.points = buf(B * S * N, E), wk.points2 = buf(B * S * N, E);
    wk.virt = buf(B * S * V, E), wk.virt2 = buf(B * S * V, E);
    wk.kv = buf(B * S * std::max(N, V), 2 * E), wk.ctxn = buf(B * S * std::max(N, V), E);
  }
  Tensor x = buf(R, D), delta = buf(R, L + 2), df = buf(R, L), dfn = buf(R, L), upd = buf(R, L);
  Result out;
  for (int it = 0; it < iters; ++it) {
    build_input(fp(coords), fp(feats), fp(pos), pyr, B, N, S, L, r, D, fp(x));
    update_former(fp(x), B, N, S, wk, fp(delta));
    // Track features: f += GELU(Linear(GroupNorm(1, L)(delta_f))) (one group = LayerNorm + affine).
    vc::copy_rows(fp(delta), L + 2, 2, fp(df), L, 0, R, L);
    vc::layer_norm(fp(df), fp(dfn), R, L, f32("norm.weight"), f32("norm.bias"), 1e-5f);
    lin(fp(dfn), R, "ffeat_updater.0.weight", fp(upd), Epilogue::kGelu);
    vc::add(fp(upd), fp(feats), fp(feats), R * L);
    Tensor pred = Tensor::empty({B, S, N, 2}, DType::F32, d);
    update_coords(fp(coords), fp(delta), L + 2, B, N, S, static_cast<float>(cfg_.stride),
                  static_cast<float>(down_ratio), fp(pred));
    out.coords.push_back(pred);
  }
  if (!cfg_.fine) {
    out.vis = Tensor::empty({B, S, N}, DType::F32, d);
    visibility(fp(feats), f32("vis_predictor.0.weight"), f32("vis_predictor.0.bias"), B, N, S, L, fp(out.vis));
  }
  return out;
}

#else  // CPU-only build

CudaTrackPredictor::CudaTrackPredictor(const StateDict&, const std::string& prefix, const TrackPredictorConfig& cfg,
                                       Device d, vggt::cuda::Precision p)
    : pre_(prefix), cfg_(cfg), device_(d), precision_(p) {
  VG_CHECK(false, "CudaTrackPredictor: this build has no CUDA support");
}

CudaTrackPredictor::Result CudaTrackPredictor::forward(const Tensor&, const Tensor&, int, int) const {
  VG_CHECK(false, "CudaTrackPredictor: this build has no CUDA support");
  return {};
}

#endif

}  // namespace vg::tracks::cuda
