// DINOv2 ViT-B/14 with 4 registers (torch.hub "dinov2_vitb14_reg") and the frame ranking that picks the query
// frames of the VGGSfM tracker: vggt/dependency/vggsfm_utils.py generate_rank_by_dino + farthest_point_sampling.
// CPU fp32; weights by the official state-dict names of dinov2_vitb14_reg4_pretrain.pth.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "io/state_dict.h"

namespace vg::vggt {
struct VggtWeights;
}

namespace vg::tracks {

inline constexpr const char* kDinoFile = "dinov2_vitb14_reg4_pretrain.pth";
inline constexpr const char* kDinoHelp =
    "download dinov2_vitb14_reg4_pretrain.pth from "
    "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_reg4_pretrain.pth";

// The hub's constructor values (dinov2 hubconf _make_dinov2_model: img_size 518, init_values 1.0 -> LayerScale,
// ffn "mlp", block_chunks 0, interpolate_antialias True, interpolate_offset 0.0 -> resize to an exact size).
struct DinoConfig {
  int64_t embed_dim = 768;
  int depth = 12;
  int heads = 12;
  int registers = 4;
  int patch = 14;
  int64_t img_size = 518;  // position-embedding grid: img_size / patch per side (37)
  float mlp_ratio = 4.f;
};

// Every key the network reads with its shape (mask_token, unused at inference, is accepted and ignored).
ParamList dino_expected_params(const DinoConfig& cfg);
StateDictCheck dino_state_dict_check();

class Dinov2 {
 public:
  static Dinov2 load(const std::filesystem::path& file, const DinoConfig& cfg = {});  // official key names
  // From tensors already read (official names, F32 CPU); checked like a file.
  static Dinov2 from_state_dict(StateDict sd, const DinoConfig& cfg = {});

  // images [S,3,H,W] in [0,1] -> x_norm_clstoken [S, E] after resizing to image_size x image_size.
  Tensor cls_tokens(const Tensor& images, int64_t image_size = 336) const;
  // The same forward, all final-norm tokens [S, 1 + registers + P, E] (cls, registers, patches).
  Tensor tokens(const Tensor& images, int64_t image_size = 336) const;

  const DinoConfig& config() const { return cfg_; }
  const vggt::VggtWeights& weights() const;  // official names, F32 CPU (for CudaDinov2's upload)

 private:
  DinoConfig cfg_;
  std::shared_ptr<const vggt::VggtWeights> w_;
};

// generate_rank_by_dino's resize: F.interpolate(bilinear, align_corners=False) of [S,3,H,W] to n x n.
Tensor resize_for_dino(const Tensor& images, int64_t image_size);

// Cosine similarity of the rows of cls tokens [S,E] (F.normalize, then x x^T): [S,S].
Tensor cls_similarity(const Tensor& cls_tokens);

// vggsfm_utils.farthest_point_sampling on distances [S,S] from `first`, quirks included: the first step takes
// the argmax of first's whole row (itself not excluded); every later step looks only at the row of the LAST
// pick with the picked frames zeroed; stops at num_samples or when all S frames are picked; argmax ties go to
// the lowest index. Distances are clamped at 0 first.
std::vector<int> farthest_point_sampling(const Tensor& distance, int num_samples, int first);

// generate_rank_by_dino after the network: query_frame_num frame indices (FPS order) from cls tokens [S,E].
// The most common frame (argmax of similarity row sums, diagonal -100) comes first; distances = 100 - sim.
std::vector<int> rank_frames(const Tensor& cls_tokens, int query_frame_num);

}  // namespace vg::tracks
