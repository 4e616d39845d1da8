// VGGT (Wang et al., CVPR 2025) network configuration: the released VGGT-1B sizes by default, as the
// official vggt/models/{vggt,aggregator}.py, heads/{camera_head,dpt_head}.py construct them.
#pragma once
#include <array>

namespace vg::vggt {

struct VggtConfig {
  // Aggregator (alternating frame / global attention).
  int img_size = 518;   // DINOv2 position-embedding grid: img_size / patch_size per side
  int patch_size = 14;
  int embed_dim = 1024;
  int depth = 24;       // frame blocks = global blocks = depth
  int num_heads = 16;
  float mlp_ratio = 4.0f;
  int num_register_tokens = 4;
  bool qk_norm = true;
  float rope_freq = 100.0f;
  float init_values = 0.01f;  // LayerScale init (weights carry the trained values)
  // DINOv2 ViT-L/14 patch embedding (a whole ViT: blocks + final norm).
  int dino_depth = 24;
  int dino_heads = 16;
  float dino_mlp_ratio = 4.0f;
  // Camera head: trunk of Blocks on 2*embed_dim camera tokens, iterative refinement.
  int camera_trunk_depth = 4;
  int camera_heads = 16;
  float camera_mlp_ratio = 4.0f;
  int camera_iterations = 4;
  // DPT heads (depth, optional point head).
  int dpt_features = 256;
  std::array<int, 4> dpt_out_channels{256, 512, 1024, 1024};
  std::array<int, 4> dpt_layers{4, 11, 17, 23};  // aggregator outputs fed to the four reassemble stages

  int token_dim() const { return 2 * embed_dim; }          // frame ++ global intermediate
  int patch_start() const { return 1 + num_register_tokens; }  // camera token, register tokens, patches

  // The configuration of tests/data/vggt_tiny.* (tools/vggt_fixtures.py TINY): embed 64, 2 blocks, 4 heads.
  static VggtConfig tiny() {
    VggtConfig c;
    c.img_size = 70;
    c.embed_dim = 64;
    c.depth = 2;
    c.num_heads = 4;
    c.mlp_ratio = 2.0f;
    c.dino_depth = 2;
    c.dino_heads = 4;
    c.dino_mlp_ratio = 2.0f;
    c.camera_trunk_depth = 1;
    c.camera_heads = 4;
    c.camera_mlp_ratio = 1.0f;
    c.dpt_features = 16;
    c.dpt_out_channels = {8, 16, 32, 32};
    c.dpt_layers = {0, 1, 0, 1};
    return c;
  }
};

}  // namespace vg::vggt
