// fp32 CPU reference layers for the VGGT engine (the PyTorch modules the official code uses), on contiguous
// F32 CPU tensors; threaded with parallel_for, GEMMs through Eigen. Token tensors are [..., C] (rows = tokens),
// feature maps [C,H,W] (one frame).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace vg::vggt::ops {

// nn.Linear: x [..., in] @ w[out, in]^T + b -> [..., out]; b may be undefined.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);
// nn.LayerNorm over the last dimension (biased variance, accumulated in double); w, b may be undefined.
Tensor layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps);
void gelu_(Tensor& x);  // exact (erf) GELU, nn.GELU()
void silu_(Tensor& x);
void relu_(Tensor& x);
void selu_(Tensor& x);     // nn.SELU (Klambauer et al. 2017)
void sigmoid_(Tensor& x);
void add_(Tensor& x, const Tensor& y);                    // x += y (same numel)
void add_scaled_(Tensor& x, const Tensor& y, const Tensor& gamma);  // x += y * gamma (LayerScale, gamma [C])

// Multi-head self-attention core (layers/attention.py): qkv [B,N,3C] as nn.Linear produced it. Per head:
// optional q/k LayerNorm over the head dim (eps 1e-5, weights may be undefined), optional 2-D RoPE with
// positions pos[N][2] = (y, x) shared by the B sequences (nullptr: none), softmax(q k^T / sqrt(d)) v.
// Returns [B,N,C] (heads concatenated).
Tensor attention(const Tensor& qkv, int heads, const Tensor& q_norm_w, const Tensor& q_norm_b,
                 const Tensor& k_norm_w, const Tensor& k_norm_b, const int32_t* pos, float rope_freq);

// RotaryPositionEmbedding2D (layers/rope.py) on one head's tokens x [N, D] in place: the first D/2 features
// rotate with y, the last D/2 with x; within each half, feature i pairs with i + D/4.
void rope2d_(float* x, int64_t n, int64_t d, const int32_t* pos, float freq);

// Feature maps [C,H,W].
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad);  // nn.Conv2d
// nn.ConvTranspose2d with kernel == stride == k, no padding: w [Cin, Cout, k, k] -> [Cout, H k, W k].
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, int k);
// F.interpolate(mode="bilinear", size=(ho, wo), align_corners) without antialiasing.
Tensor interpolate_bilinear(const Tensor& x, int64_t ho, int64_t wo, bool align_corners);
// F.interpolate(mode="bicubic", size=(ho, wo), antialias=True, align_corners=False) (the DINOv2
// position-embedding resize): separable, Keys a = -0.5, support widened by the scale when shrinking.
Tensor interpolate_bicubic_aa(const Tensor& x, int64_t ho, int64_t wo);

// Antialiased separable resampling weights (PIL's ImagingResample, torch's *_aa kernels): for output index
// i, taps in[first[i] .. first[i] + taps[i]), weights w[i * max_taps + j] normalised to sum 1.
struct ResampleWeights {
  std::vector<int64_t> first, taps;
  std::vector<double> w;
  int64_t max_taps = 0;
};
ResampleWeights bicubic_aa_weights(int64_t in_size, int64_t out_size);

}  // namespace vg::vggt::ops
