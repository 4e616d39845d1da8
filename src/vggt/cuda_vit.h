// The transformer part of the CUDA engines, shared by CudaVggtModel (VGGT's DINOv2 ViT-L, aggregator and camera
// trunk blocks) and tracks::CudaDinov2 (the ranking ViT-B): device weights (fp32, or 16-bit GEMM weights with the
// LayerScale folded in), layers/block.py Block, and DinoVisionTransformer.forward_features. Launches only, on the
// default stream, no host synchronisation. Mirrors block.cc / aggregator.cc (the CPU fp32 reference).
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>

#include "core/device.h"
#include "core/tensor.h"
#include "vggt/cuda_ops.h"
#include "vggt/cuda_profile.h"
#include "vggt/network.h"
#include "vggt/weights.h"

namespace vg::vggt {

// Parameters on one device by their official names. Conv2d weights are permuted to [O, k, k, C] (NHWC im2col)
// except patch embeddings (patch_im2col's (c, ky, kx) order); ConvTranspose2d weights of DPT resize_layers.0/1 to
// [k, k, O, C]. 16-bit precisions: every GEMM weight (".weight" of ndim >= 2) is held only as a 16-bit copy, the
// patch embedding's K padded to a multiple of 8, and a block's attn.proj / mlp.fc2 carry their ls1 / ls2 gamma.
class CudaParams {
 public:
  // Suffix of a block's proj / fc2 bias with its LayerScale folded in (16-bit precisions: the GEMM weight is
  // folded too, so the residual needs no gamma).
  static constexpr const char* kLayerScaled = ":layer_scaled";

  CudaParams() = default;
  CudaParams(const VggtWeights& weights, Device device, cuda::Precision precision);
  cuda::Precision precision() const { return precision_; }
  Device device() const { return device_; }
  const float* f32(const std::string& name) const;      // fp32 device parameter
  const float* f32_opt(const std::string& name) const;  // nullptr when absent
  const void* gemm_w(const std::string& name) const;    // GEMM weight in the precision
  const Shape& shape(const std::string& name) const;    // original (official) shape
  // The patch embedding's GEMM K: 3 p^2, padded with zero columns to a multiple of 8 for the 16-bit precisions
  // (588 -> 592: cuBLASLt needs 16-byte rows).
  int64_t patch_embed_k(int64_t patch) const;

 private:
  Device device_ = Device::cpu();
  cuda::Precision precision_ = cuda::Precision::F32;
  std::map<std::string, Tensor> f32_;   // device fp32 (all parameters in F32 mode; non-GEMM ones otherwise)
  std::map<std::string, Tensor> lowp_;  // device 16-bit GEMM weights (U8 storage)
  std::map<std::string, Shape> shapes_;
};

// Per-forward scratch for transformer blocks, sized once for the largest (rows, width, hidden) and batch (the
// attention layout may pad every batch item's rows to cuda::kPadRows). q, k, v hold the attention inputs as bytes
// (fp32, or 16-bit for the 16-bit precisions).
// The MLP is row-wise, so it runs over at most kMlpChunkRows rows at a time: its hidden activations (24 KB a token
// in 16 bit) no longer grow with the frame count (200 frames: 5.8 GB less at the peak).
struct BlockScratch {
  static constexpr int64_t kMlpChunkRows = 32768;
  Tensor h, qkv, q, k, v, hidden, hidden16;  // hidden16: GELU output in 16 bit when linear_a16 can take it
  int64_t mlp_rows;                          // rows of hidden / hidden16
  BlockScratch(int64_t rows, int64_t C, int64_t hidden_dim, Device d, cuda::Precision p, int64_t max_batch)
      : h(Tensor::empty({rows, C}, DType::F32, d)),
        qkv(Tensor::empty({rows, 3 * C}, DType::F32, d)),
        q(Tensor::empty({attn_bytes(rows, C, p, max_batch)}, DType::U8, d)),
        k(Tensor::empty({attn_bytes(rows, C, p, max_batch)}, DType::U8, d)),
        v(Tensor::empty({attn_bytes(rows, C, p, max_batch)}, DType::U8, d)),
        mlp_rows(std::min(rows, kMlpChunkRows)) {
    hidden = Tensor::empty({mlp_rows, hidden_dim}, DType::F32, d);
    if (cuda::linear_a16_supported(hidden_dim, p)) hidden16 = Tensor::empty({mlp_rows * hidden_dim * 2}, DType::U8, d);
  }
  void release() { h = qkv = q = k = v = hidden = hidden16 = Tensor(); }
  static int64_t attn_bytes(int64_t rows, int64_t C, cuda::Precision p, int64_t max_batch) {
    return (rows + (cuda::kPadRows - 1) * max_batch) * C * cuda::attention_elem_bytes(p);
  }
};

class CudaVitRunner {
 public:
  CudaVitRunner(const CudaParams& w, OpProfile& prof) : w_(w), p_(w.precision()), d_(w.device()), prof_(prof) {}

  // layers/block.py Block on x [B*N, C] in place; q_norm / k_norm when the weights hold them; pos / rope_cs
  // enable RoPE (cuda::attention_prep).
  void block(float* x, int64_t B, int64_t N, int64_t C, const std::string& pre, int heads, float eps,
             const int32_t* pos, const float* rope_cs, BlockScratch& s) const;

  // DinoVisionTransformer.forward_features on device images [S,3,H,W] in [0,1] (ImageNet mean/std applied here),
  // H and W multiples of the patch; pos: the device position embedding [1 + P, E] (dino_pos_embed). x [S*T, E]
  // ends as the last block's output, xn as the final-norm tokens (T = 1 + registers + P).
  void dino_forward(const DinoVitSpec& spec, const float* pos, const float* images, int64_t S, int64_t H, int64_t W,
                    float* x, float* xn, BlockScratch& s) const;

 private:
  void mlp(const float* a, int64_t rows, int64_t C, const std::string& pre, float* x, BlockScratch& s) const;
  void residual_linear(const float* a, int64_t rows, int64_t K, const std::string& w, const std::string& b,
                       const std::string& gamma, float* x, int64_t N) const;

  const CudaParams& w_;
  cuda::Precision p_;
  Device d_;
  OpProfile& prof_;
};

}  // namespace vg::vggt
