// Internal: CUDA launchers of the track predictor (cuda_predictor_kernels.cu, cuda_predictor_attention.cu), called
// by CudaTrackPredictor (cuda_predictor.cc, CUDA builds only). Raw device pointers, fp32, default stream. Rows of
// per-track tensors are ordered (b, n, s): B batch elements, N tracks, S frames. Feature maps are NHWC.
// C++17-clean: included by .cu files.
#pragma once
#include <cstdint>

namespace vg::tracks::cuda {

// softmax(q k^T / sqrt(D)) v per head, exact fp32 with online softmax: for sequence m < M and head h < H, query
// row i < Lq sits at q + (m Lq + i) q_ld + h D, key / value row j < Lk at k / v + (m Lk + j) kv_ld + h D, and the
// output row at out + (m Lq + i) out_ld + h D. D in {8, 16, 32, 48, 64} (the published
// predictors: 48 coarse, 32 fine; 8 / 16: the tiny test fixture).
void mha(const float* q, int64_t q_ld, const float* k, const float* v, int64_t kv_ld, float* out, int64_t out_ld,
         int64_t M, int H, int64_t Lq, int64_t Lk, int D);

// Query init per (b, n): query [B,N,2] in original pixels -> coords [B*N*S, 2] (feature-map pixels, all frames the
// query), track features feats [B*N*S, C] (border-sampled from frame 0 of fmaps [B,S,H,W,C]) and the sincos
// position embedding pos [B*N, D] (border-bilinear over the H x W grid of get_2d_sincos_pos_embed(D)).
void init_queries(const float* query, const float* fmaps, int64_t B, int64_t N, int64_t S, int64_t H, int64_t W,
                  int64_t C, int64_t D, float down_ratio, float stride, float* coords, float* feats, float* pos);

// One 2x2 average pooling of NHWC maps: x [F,H,W,C] -> y [F,H/2,W/2,C].
void avg_pool2(const float* x, int64_t F, int64_t H, int64_t W, int64_t C, float* y);

// The transformer input x [B*N*S, D] (tracker_predictor.cc's row): flow embedding of coords - coords of frame 0
// (L channels), the flow, levels x (2r+1)^2 correlation samples, track features, zero padding, + pos.
// pyr[l]: level l maps [B*S, H >> l, W >> l, L] (sizes as the pooling floors them: hl[l], wl[l]).
struct CorrPyramid {
  static constexpr int kMaxLevels = 8;
  const float* maps[kMaxLevels];
  int64_t h[kMaxLevels], w[kMaxLevels];
  int levels;
};
void build_input(const float* coords, const float* feats, const float* pos, const CorrPyramid& pyr, int64_t B,
                 int64_t N, int64_t S, int64_t L, int r, int64_t D, float* x);

// tokens [B*(N+V)*S, E] rows (b, n, s): rows n < N from init [B*N*S, E], rows n >= N the virtual track n - N
// (virt [V, E]) at every s.
void assemble_tokens(const float* init, const float* virt, int64_t B, int64_t N, int64_t V, int64_t S, int64_t E,
                     float* tokens);
// tokens (b, n, s) -> points [B*S*N, E] rows (b, s, n) for n < N and virt [B*S*V, E] rows (b, s, v) (to_space),
// or back (to_space = false).
void space_split(float* tokens, float* points, float* virt, int64_t B, int64_t N, int64_t V, int64_t S, int64_t E,
                 bool to_space);
// out [B*N*S, E] = tokens rows n < N + init.
void real_plus_init(const float* tokens, const float* init, int64_t B, int64_t N, int64_t V, int64_t S, int64_t E,
                    float* out);

// Coordinate update of one iteration: coords (frames s > 0) += delta[:, 0:2] (delta rows of ld), then
// pred [B,S,N,2] = coords * stride (* down_ratio when > 1).
void update_coords(float* coords, const float* delta, int64_t ld, int64_t B, int64_t N, int64_t S, float stride,
                   float down_ratio, float* pred);
// vis [B,S,N] = sigmoid(feats [B*N*S, L] . w + b).
void visibility(const float* feats, const float* w, const float* b, int64_t B, int64_t N, int64_t S, int64_t L,
                float* vis);

}  // namespace vg::tracks::cuda
