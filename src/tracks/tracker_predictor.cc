// BaseTrackerPredictor (track_modules/base_track_predictor.py, from CoTracker, Karaev et al. 2023) for one batch:
// iterative refinement of track positions and features from a correlation pyramid (blocks.py::CorrBlock) and the
// EfficientUpdateFormer (time attention per track, space attention through virtual tracks).
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/parallel.h"
#include "tracks/tracker_internal.h"
#include "vggt/cpu_ops.h"

namespace vg::tracks::detail {
namespace {

using vggt::ops::add_;
using vggt::ops::gelu_;
using vggt::ops::layer_norm;
using vggt::ops::linear;
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using StridedMap = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;

// Samples a field of H x W pixels at (x, y) (pixel units, align_corners=True), border or zero padding; `add`
// (h, w, weight) accumulates one in-bounds corner.
template <typename Add>
void sample_pixel(int64_t H, int64_t W, float x, float y, bool border, Add&& add) {
  float ix = grid_roundtrip(x, W), iy = grid_roundtrip(y, H);
  if (border) {
    ix = std::clamp(ix, 0.0f, static_cast<float>(W - 1));
    iy = std::clamp(iy, 0.0f, static_cast<float>(H - 1));
  }
  const BilinearTap t = bilinear_tap(ix, iy);
  const float wts[4] = {t.nw, t.ne, t.sw, t.se};
  for (int k = 0; k < 4; ++k) {
    const int64_t px = t.x0 + (k & 1), py = t.y0 + (k >> 1);
    if (px >= 0 && px < W && py >= 0 && py < H) add(py, px, wts[k]);
  }
}

// [A,B,C] -> [B,A,C]
Tensor swap01(const Tensor& x) {
  const int64_t A = x.size(0), B = x.size(1), C = x.size(2);
  Tensor y = Tensor::empty({B, A, C});
  const float* s = x.data<float>();
  float* d = y.data<float>();
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < B; ++b) std::memcpy(d + (b * A + a) * C, s + (a * B + b) * C, C * sizeof(float));
  return y;
}

Tensor rows(const Tensor& t, int64_t r0, int64_t r1) {  // rows [r0, r1) of a matrix or vector (a copy)
  const int64_t cols = t.ndim() == 1 ? 1 : t.numel() / t.size(0);
  Shape s = t.shape();
  s[0] = r1 - r0;
  Tensor out = Tensor::empty(s);
  std::memcpy(out.data<float>(), t.data<float>() + r0 * cols, (r1 - r0) * cols * sizeof(float));
  return out;
}

// softmax(q k^T / sqrt(d)) v per head: q [M,Lq,E], kv [M,Lk,2E] (keys then values) -> [M,Lq,E].
Tensor mha_core(const Tensor& q, const Tensor& kv, int heads) {
  const int64_t M = q.size(0), Lq = q.size(1), E = q.size(2), Lk = kv.size(1), D = E / heads;
  Tensor out = Tensor::empty({M, Lq, E});
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  parallel_for(
      M * heads,
      [&](int64_t b, int64_t e) {
        RowMat p, o;
        for (int64_t job = b; job < e; ++job) {
          const int64_t m = job / heads, h = job % heads;
          StridedMap qm(q.data<float>() + m * Lq * E + h * D, Lq, D, Eigen::OuterStride<>(E));
          StridedMap km(kv.data<float>() + m * Lk * 2 * E + h * D, Lk, D, Eigen::OuterStride<>(2 * E));
          StridedMap vm(kv.data<float>() + m * Lk * 2 * E + E + h * D, Lk, D, Eigen::OuterStride<>(2 * E));
          p.noalias() = (qm * scale) * km.transpose();
          for (int64_t i = 0; i < Lq; ++i) {
            float* r = p.data() + i * Lk;
            const float mx = *std::max_element(r, r + Lk);
            double sum = 0;
            for (int64_t j = 0; j < Lk; ++j) sum += (r[j] = std::exp(r[j] - mx));
            const float inv = static_cast<float>(1.0 / sum);
            for (int64_t j = 0; j < Lk; ++j) r[j] *= inv;
          }
          o.noalias() = p * vm;
          for (int64_t i = 0; i < Lq; ++i)
            std::memcpy(out.data<float>() + (m * Lq + i) * E + h * D, o.data() + i * D, D * sizeof(float));
        }
      },
      1);
  return out;
}

// x += Mlp(LayerNorm(x)) (modules.py::Mlp, exact GELU; the blocks' norm2 has no affine, eps 1e-6)
void mlp_residual_(const StateDict& w, const std::string& pre, Tensor& x) {
  Tensor t = linear(layer_norm(x, {}, {}, 1e-6f), w.at(pre + ".fc1.weight"), w.at(pre + ".fc1.bias"));
  gelu_(t);
  add_(x, linear(t, w.at(pre + ".fc2.weight"), w.at(pre + ".fc2.bias")));
}

// modules.py::AttnBlock on x [M,L,E]: x = LN(x); x = x + MHA(x, x, x); x = x + Mlp(LN(x)).
Tensor attn_block(const StateDict& w, const std::string& pre, const Tensor& x, int heads) {
  Tensor h = layer_norm(x, {}, {}, 1e-6f);
  const Tensor qkv = linear(h, w.at(pre + ".attn.in_proj_weight"), w.at(pre + ".attn.in_proj_bias"));
  const Tensor a = vggt::ops::attention(qkv, heads, {}, {}, {}, {}, nullptr, 0.0f);
  add_(h, linear(a, w.at(pre + ".attn.out_proj.weight"), w.at(pre + ".attn.out_proj.bias")));
  mlp_residual_(w, pre + ".mlp", h);
  return h;
}

// modules.py::CrossAttnBlock: x [M,Lq,E] attends to context [M,Lk,E] (norm_context is affine, eps 1e-5).
Tensor cross_attn_block(const StateDict& w, const std::string& pre, const Tensor& x, const Tensor& ctx, int heads) {
  Tensor h = layer_norm(x, {}, {}, 1e-6f);
  const Tensor c = layer_norm(ctx, w.at(pre + ".norm_context.weight"), w.at(pre + ".norm_context.bias"), 1e-5f);
  const Tensor& win = w.at(pre + ".cross_attn.in_proj_weight");
  const Tensor& bin = w.at(pre + ".cross_attn.in_proj_bias");
  const int64_t E = x.size(2);
  const Tensor q = linear(h, rows(win, 0, E), rows(bin, 0, E));
  const Tensor kv = linear(c, rows(win, E, 3 * E), rows(bin, E, 3 * E));
  const Tensor a = mha_core(q, kv, heads);
  add_(h, linear(a, w.at(pre + ".cross_attn.out_proj.weight"), w.at(pre + ".cross_attn.out_proj.bias")));
  mlp_residual_(w, pre + ".mlp", h);
  return h;
}

// EfficientUpdateFormer.forward for one batch: x [N,S,Din] -> [N,S,latent+2].
Tensor update_former(const StateDict& w, const std::string& pre, const TrackPredictorConfig& cfg, const Tensor& x) {
  const int64_t N = x.size(0), S = x.size(1), hid = cfg.hidden_size;
  const Tensor init = linear(x, w.at(pre + ".input_transform.weight"), w.at(pre + ".input_transform.bias"));
  const int64_t V = cfg.use_spaceatt ? cfg.num_virtual_tracks : 0;
  Tensor tokens = Tensor::empty({N + V, S, hid});  // real tracks, then the virtual ones repeated over time
  std::memcpy(tokens.data<float>(), init.data<float>(), init.nbytes());
  if (V > 0) {
    const float* vt = w.at(pre + ".virual_tracks").data<float>();
    for (int64_t v = 0; v < V; ++v)
      for (int64_t s = 0; s < S; ++s)
        std::memcpy(tokens.data<float>() + ((N + v) * S + s) * hid, vt + v * hid, hid * sizeof(float));
  }
  // Space attention after time block i when i % (len(time_blocks) // len(space blocks)) == 0: BaseTrackerPredictor
  // builds as many space blocks as time blocks, so after every one.
  const int space_every = 1;
  for (int i = 0, j = 0; i < cfg.depth; ++i) {
    tokens = attn_block(w, pre + ".time_blocks." + std::to_string(i), tokens, cfg.num_heads);
    if (V == 0 || i % space_every != 0) continue;
    const Tensor space = swap01(tokens);  // [S, N+V, hid]
    Tensor points = Tensor::empty({S, N, hid}), virt = Tensor::empty({S, V, hid});
    for (int64_t s = 0; s < S; ++s) {
      const float* src = space.data<float>() + s * (N + V) * hid;
      std::memcpy(points.data<float>() + s * N * hid, src, N * hid * sizeof(float));
      std::memcpy(virt.data<float>() + s * V * hid, src + N * hid, V * hid * sizeof(float));
    }
    const std::string js = std::to_string(j++);
    virt = cross_attn_block(w, pre + ".space_virtual2point_blocks." + js, virt, points, cfg.num_heads);
    virt = attn_block(w, pre + ".space_virtual_blocks." + js, virt, cfg.num_heads);
    points = cross_attn_block(w, pre + ".space_point2virtual_blocks." + js, points, virt, cfg.num_heads);
    Tensor merged = Tensor::empty({S, N + V, hid});
    for (int64_t s = 0; s < S; ++s) {
      float* dst = merged.data<float>() + s * (N + V) * hid;
      std::memcpy(dst, points.data<float>() + s * N * hid, N * hid * sizeof(float));
      std::memcpy(dst + N * hid, virt.data<float>() + s * V * hid, V * hid * sizeof(float));
    }
    tokens = swap01(merged);
  }
  Tensor real = V > 0 ? rows(tokens, 0, N) : tokens;
  add_(real, init);
  return linear(real, w.at(pre + ".flow_head.weight"), w.at(pre + ".flow_head.bias"));
}

// utils.py::get_2d_sincos_pos_embed(D, (H, W)) at grid node (h, w): the first D/2 channels encode the column
// (x), the rest the row (y); each half is [sin(p omega_k), cos(p omega_k)], omega_k = 10000^(-k / (D/4)), in double.
struct SincosGrid {
  int64_t D;
  std::vector<double> omega;
  explicit SincosGrid(int64_t d) : D(d), omega(static_cast<size_t>(d / 4)) {
    for (int64_t k = 0; k < d / 4; ++k) omega[k] = 1.0 / std::pow(10000.0, static_cast<double>(k) / (d / 4));
  }
  void add(int64_t h, int64_t w, float weight, float* out) const {
    const int64_t q = D / 4;
    for (int half = 0; half < 2; ++half) {
      const double p = half == 0 ? static_cast<double>(w) : static_cast<double>(h);
      for (int64_t k = 0; k < q; ++k) {
        out[half * 2 * q + k] += weight * static_cast<float>(std::sin(p * omega[k]));
        out[half * 2 * q + q + k] += weight * static_cast<float>(std::cos(p * omega[k]));
      }
    }
  }
};

// utils.py::get_2d_embedding(xy, C, cat_coords=False): [sin/cos interleaved of x * k 1000/C (k even), same of y].
void flow_embedding(float fx, float fy, int64_t C, float* out) {
  const float step = static_cast<float>(1000.0 / static_cast<double>(C));
  for (int64_t k = 0; k < C / 2; ++k) {
    const float div = static_cast<float>(2 * k) * step;
    out[2 * k] = std::sin(fx * div);
    out[2 * k + 1] = std::cos(fx * div);
    out[C + 2 * k] = std::sin(fy * div);
    out[C + 2 * k + 1] = std::cos(fy * div);
  }
}

// CorrBlock's pyramid, channels last: level l is [S, H_l, W_l, C], each level avg-pooled 2x2 from the previous.
std::vector<Tensor> corr_pyramid(const Tensor& fmaps, int levels) {
  const int64_t S = fmaps.size(0), C = fmaps.size(1);
  std::vector<Tensor> out;
  int64_t H = fmaps.size(2), W = fmaps.size(3);
  Tensor cur = fmaps;  // [S,C,H,W]
  for (int l = 0; l < levels; ++l) {
    if (l > 0) {
      VG_CHECK(H >= 2 && W >= 2, "the tracker's correlation pyramid needs ", levels, " levels but the feature map ",
               "is ", fmaps.size(3), "x", fmaps.size(2), " (use larger images)");
      const int64_t Ho = H / 2, Wo = W / 2;
      Tensor next = Tensor::empty({S, C, Ho, Wo});
      const float* s = cur.data<float>();
      float* d = next.data<float>();
      for (int64_t sc = 0; sc < S * C; ++sc)
        for (int64_t y = 0; y < Ho; ++y)
          for (int64_t x = 0; x < Wo; ++x) {
            const float* p = s + (sc * H + 2 * y) * W + 2 * x;
            d[(sc * Ho + y) * Wo + x] = (p[0] + p[1] + p[W] + p[W + 1]) / 4;
          }
      cur = next;
      H = Ho;
      W = Wo;
    }
    Tensor cl = Tensor::empty({S, H, W, C});
    const float* s = cur.data<float>();
    float* d = cl.data<float>();
    for (int64_t f = 0; f < S; ++f)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t p = 0; p < H * W; ++p) d[(f * H * W + p) * C + c] = s[(f * C + c) * H * W + p];
    out.push_back(cl);
  }
  return out;
}

// CorrBlock.corr + sample for one track in one frame: feat [C] against level maps, (2r+1)^2 samples per level
// (zero padding). The window is indexed [i][j] with x offset i - r and y offset j - r (the meshgrid order).
void sample_correlations(const std::vector<Tensor>& pyr, int64_t s, const float* feat, float x, float y, int r,
                         float* out) {
  const int64_t C = pyr[0].size(3);
  const float norm = std::sqrt(static_cast<float>(C));
  for (size_t l = 0; l < pyr.size(); ++l) {
    const int64_t H = pyr[l].size(1), W = pyr[l].size(2);
    const float* f = pyr[l].data<float>() + s * H * W * C;
    const float div = static_cast<float>(int64_t{1} << l);
    const float cx = x / div, cy = y / div;
    auto corr = [&](int64_t py, int64_t px) {
      Eigen::Map<const Eigen::VectorXf> a(feat, C), b(f + (py * W + px) * C, C);
      return a.dot(b) / norm;
    };
    for (int i = -r; i <= r; ++i)
      for (int j = -r; j <= r; ++j) {
        float v = 0.0f;
        sample_pixel(H, W, cx + static_cast<float>(i), cy + static_cast<float>(j), false,
                     [&](int64_t py, int64_t px, float wt) { v += corr(py, px) * wt; });
        *out++ = v;
      }
  }
}

}  // namespace

void sample_border(const float* f, int64_t C, int64_t H, int64_t W, float x, float y, float* out) {
  std::fill(out, out + C, 0.0f);
  sample_pixel(H, W, x, y, true, [&](int64_t py, int64_t px, float wt) {
    for (int64_t c = 0; c < C; ++c) out[c] += f[(c * H + py) * W + px] * wt;
  });
}

PredictorOutput track_predictor(const StateDict& w, const std::string& pre, const TrackPredictorConfig& cfg,
                                const Tensor& fmaps, const Tensor& query, int iters, int down_ratio) {
  const int64_t S = fmaps.size(0), C = fmaps.size(1), H = fmaps.size(2), W = fmaps.size(3), N = query.size(0);
  const int64_t L = cfg.latent_dim, D = cfg.transformer_dim(), r = cfg.corr_radius;
  const int64_t corr_dim = cfg.corr_levels * (2 * r + 1) * (2 * r + 1);
  VG_CHECK(C == L, "the tracker's feature maps have ", C, " channels, the predictor expects ", L);
  // coords [N][S][2] in feature-map pixels; track features [N][S][L].
  std::vector<float> coords(N * S * 2), feats(N * S * L);
  const float* q = query.data<float>();
  const SincosGrid sincos(D);
  std::vector<float> pos(N * D, 0.0f);
  for (int64_t n = 0; n < N; ++n) {
    float qx = q[2 * n], qy = q[2 * n + 1];
    if (down_ratio > 1) qx /= static_cast<float>(down_ratio), qy /= static_cast<float>(down_ratio);
    qx /= static_cast<float>(cfg.stride), qy /= static_cast<float>(cfg.stride);
    for (int64_t s = 0; s < S; ++s) coords[(n * S + s) * 2] = qx, coords[(n * S + s) * 2 + 1] = qy;
    sample_border(fmaps.data<float>(), C, H, W, qx, qy, feats.data() + n * S * L);
    for (int64_t s = 1; s < S; ++s) std::memcpy(feats.data() + (n * S + s) * L, feats.data() + n * S * L, L * 4);
    sample_pixel(H, W, qx, qy, true, [&](int64_t py, int64_t px, float wt) { sincos.add(py, px, wt, &pos[n * D]); });
  }
  const std::vector<Tensor> pyr = corr_pyramid(fmaps, cfg.corr_levels);
  PredictorOutput out;
  Tensor x = Tensor::empty({N, S, D});
  for (int it = 0; it < iters; ++it) {
    float* xs = x.data<float>();
    parallel_for(
        N * S,
        [&](int64_t b, int64_t e) {
          for (int64_t ns = b; ns < e; ++ns) {
            const int64_t n = ns / S, s = ns % S;
            float* row = xs + ns * D;
            const float* c = &coords[ns * 2];
            const float fx = c[0] - coords[n * S * 2], fy = c[1] - coords[n * S * 2 + 1];
            flow_embedding(fx, fy, L / 2, row);
            row[L] = fx, row[L + 1] = fy;
            sample_correlations(pyr, s, &feats[ns * L], c[0], c[1], static_cast<int>(r), row + L + 2);
            std::memcpy(row + L + 2 + corr_dim, &feats[ns * L], L * sizeof(float));
            std::fill(row + 2 * L + 2 + corr_dim, row + D, 0.0f);
            for (int64_t k = 0; k < D; ++k) row[k] += pos[n * D + k];
          }
        },
        16);
    const Tensor delta = update_former(w, pre + ".updateformer", cfg, x).reshape({N * S, L + 2});
    // Track features: f += GELU(Linear(GroupNorm(1, L)(delta_f))); GroupNorm with one group = LayerNorm + affine.
    Tensor df = Tensor::empty({N * S, L});
    for (int64_t m = 0; m < N * S; ++m)
      std::memcpy(df.data<float>() + m * L, delta.data<float>() + m * (L + 2) + 2, L * sizeof(float));
    Tensor upd = linear(layer_norm(df, w.at(pre + ".norm.weight"), w.at(pre + ".norm.bias"), 1e-5f),
                        w.at(pre + ".ffeat_updater.0.weight"), w.at(pre + ".ffeat_updater.0.bias"));
    gelu_(upd);
    const float* u = upd.data<float>();
    for (int64_t k = 0; k < N * S * L; ++k) feats[k] = u[k] + feats[k];
    Tensor pred = Tensor::empty({S, N, 2});
    float* p = pred.data<float>();
    const float scale_stride = static_cast<float>(cfg.stride), scale_down = static_cast<float>(down_ratio);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s)
        for (int k = 0; k < 2; ++k) {
          float& c = coords[(n * S + s) * 2 + k];
          if (s > 0) c += delta.data<float>()[(n * S + s) * (L + 2) + k];  // frame 0 stays the query
          float v = c * scale_stride;
          if (down_ratio > 1) v *= scale_down;
          p[(s * N + n) * 2 + k] = v;
        }
    out.coords.push_back(pred);
  }
  if (!cfg.fine) {
    const Tensor f = Tensor::from_vector(feats, {N * S, L});
    const Tensor logits = linear(f, w.at(pre + ".vis_predictor.0.weight"), w.at(pre + ".vis_predictor.0.bias"));
    out.vis = Tensor::empty({S, N});
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s)
        out.vis.data<float>()[s * N + n] = 1.0f / (1.0f + std::exp(-logits.data<float>()[n * S + s]));
  }
  return out;
}

}  // namespace vg::tracks::detail
