// Internal: the VGGT sub-networks of the CPU fp32 engine (vggt/model.h ties them together).
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "vggt/config.h"
#include "vggt/weights.h"

namespace vg::vggt {

// layers/block.py Block (pre-norm attention + MLP, LayerScale) on x [B,N,C] in place. `pre` ends with '.';
// q_norm / k_norm are used when the weights hold them; pos (N x (y, x), shared by the B sequences) enables RoPE.
void block_forward(Tensor& x, const VggtWeights& w, const std::string& pre, int heads, float norm_eps,
                   const int32_t* pos, float rope_freq);

// The shape of a DINOv2 DinoVisionTransformer (layers/vision_transformer.py) whose weights are named `prefix` +
// official name ("cls_token", "blocks.0.attn.qkv.weight", ...): VGGT's patch embed and the track-ranking ViT-B.
struct DinoVitSpec {
  std::string prefix;
  int64_t patch = 14, embed_dim = 1024;
  int registers = 4, depth = 24, heads = 16;
};
// DinoVisionTransformer.interpolate_pos_encoding of pos_embed [1, 1 + M*M, E]: the M x M patch grid resized
// (bicubic, antialiased) to ph x pw unless it already matches a square input; [1 + ph*pw, E] (class position first).
Tensor dino_pos_embed(const Tensor& pos_embed, int64_t ph, int64_t pw);
// forward_features on images [S,3,H,W] in [0,1] (ResNet mean/std applied here), H and W multiples of the patch:
// the final-norm tokens [S, 1 + registers + P, E] (x_norm_clstoken, x_norm_regtokens, x_norm_patchtokens).
Tensor dino_vit_forward(const VggtWeights& w, const DinoVitSpec& spec, const Tensor& images);

struct AggregatorOutput {
  std::vector<Tensor> tokens;  // per block: [S, T, 2E] (frame ++ global output); undefined unless kept
  Tensor dino_patch_tokens;    // [S, P, E], the DINOv2 x_norm_patchtokens
};
// models/aggregator.py on images [S,3,H,W] in [0,1]; keeps the outputs of the blocks listed in `keep`.
AggregatorOutput run_aggregator(const VggtWeights& w, const VggtConfig& cfg, const Tensor& images,
                                const std::vector<int>& keep);

// heads/camera_head.py: last aggregator output [S,T,2E] -> the activated pose encoding of each iteration [S,9].
std::vector<Tensor> run_camera_head(const VggtWeights& w, const VggtConfig& cfg, const Tensor& last_tokens);

// heads/dpt_head.py for frame s: head output [out_dim, H, W] before activation. `pre` is "depth_head." etc.
Tensor run_dpt_frame(const VggtWeights& w, const VggtConfig& cfg, const std::string& pre,
                     const std::vector<Tensor>& tokens, int64_t s, int64_t H, int64_t W);

}  // namespace vg::vggt
