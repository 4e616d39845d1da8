#include "vggt/weights.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "io/state_dict.h"

namespace vg::vggt {

namespace {

using Params = ParamList;

void add_block(Params& p, const std::string& pre, int64_t dim, int heads, float mlp_ratio, bool qk_norm) {
  const int64_t hidden = static_cast<int64_t>(dim * mlp_ratio), hd = dim / heads;
  p.push_back({pre + "norm1.weight", {dim}});
  p.push_back({pre + "norm1.bias", {dim}});
  p.push_back({pre + "attn.qkv.weight", {3 * dim, dim}});
  p.push_back({pre + "attn.qkv.bias", {3 * dim}});
  if (qk_norm)
    for (const char* n : {"q_norm", "k_norm"}) {
      p.push_back({pre + "attn." + n + ".weight", {hd}});
      p.push_back({pre + "attn." + n + ".bias", {hd}});
    }
  p.push_back({pre + "attn.proj.weight", {dim, dim}});
  p.push_back({pre + "attn.proj.bias", {dim}});
  p.push_back({pre + "ls1.gamma", {dim}});
  p.push_back({pre + "norm2.weight", {dim}});
  p.push_back({pre + "norm2.bias", {dim}});
  p.push_back({pre + "mlp.fc1.weight", {hidden, dim}});
  p.push_back({pre + "mlp.fc1.bias", {hidden}});
  p.push_back({pre + "mlp.fc2.weight", {dim, hidden}});
  p.push_back({pre + "mlp.fc2.bias", {dim}});
  p.push_back({pre + "ls2.gamma", {dim}});
}


void add_dpt(Params& p, const std::string& pre, const VggtConfig& c, int64_t output_dim) {
  const int64_t din = c.token_dim(), F = c.dpt_features;
  const auto& oc = c.dpt_out_channels;
  p.push_back({pre + "norm.weight", {din}});
  p.push_back({pre + "norm.bias", {din}});
  for (int k = 0; k < 4; ++k) add_conv_params(p, pre + "projects." + std::to_string(k), oc[k], din, 1);
  add_conv_params(p, pre + "resize_layers.0", oc[0], oc[0], 4);  // ConvTranspose2d: [in, out, k, k]
  add_conv_params(p, pre + "resize_layers.1", oc[1], oc[1], 2);
  add_conv_params(p, pre + "resize_layers.3", oc[3], oc[3], 3);
  for (int k = 0; k < 4; ++k)
    add_conv_params(p, pre + "scratch.layer" + std::to_string(k + 1) + "_rn", F, oc[k], 3, /*bias=*/false);
  for (int r = 1; r <= 4; ++r) {
    const std::string rn = pre + "scratch.refinenet" + std::to_string(r) + ".";
    add_conv_params(p, rn + "out_conv", F, F, 1);
    for (int u = (r == 4 ? 2 : 1); u <= 2; ++u)
      for (const char* conv : {"conv1", "conv2"})
        add_conv_params(p, rn + "resConfUnit" + std::to_string(u) + "." + conv, F, F, 3);
  }
  add_conv_params(p, pre + "scratch.output_conv1", F / 2, F, 3);
  add_conv_params(p, pre + "scratch.output_conv2.0", 32, F / 2, 3);
  add_conv_params(p, pre + "scratch.output_conv2.2", output_dim, 32, 1);
}

StateDictCheck vggt_check(bool point_head) {
  StateDictCheck c{"VGGT", std::string("the facebook/VGGT-1B checkpoint; ") + kWeightsHelp, {"track_head."}, {}};
  if (!point_head) c.ignored_prefixes.push_back("point_head.");
  return c;
}

}  // namespace

std::vector<std::pair<std::string, Shape>> expected_params(const VggtConfig& c, bool point_head) {
  Params p;
  const int64_t E = c.embed_dim, R = c.num_register_tokens, M = c.img_size / c.patch_size, D2 = c.token_dim();
  const std::string pe = "aggregator.patch_embed.";
  p.push_back({pe + "cls_token", {1, 1, E}});
  p.push_back({pe + "pos_embed", {1, M * M + 1, E}});
  p.push_back({pe + "register_tokens", {1, R, E}});
  p.push_back({pe + "mask_token", {1, E}});
  add_conv_params(p, pe + "patch_embed.proj", E, 3, c.patch_size);
  for (int i = 0; i < c.dino_depth; ++i)
    add_block(p, pe + "blocks." + std::to_string(i) + ".", E, c.dino_heads, c.dino_mlp_ratio, false);
  p.push_back({pe + "norm.weight", {E}});
  p.push_back({pe + "norm.bias", {E}});
  p.push_back({"aggregator.camera_token", {1, 2, 1, E}});
  p.push_back({"aggregator.register_token", {1, 2, R, E}});
  for (const char* kind : {"frame_blocks", "global_blocks"})
    for (int i = 0; i < c.depth; ++i)
      add_block(p, std::string("aggregator.") + kind + "." + std::to_string(i) + ".", E, c.num_heads, c.mlp_ratio,
                c.qk_norm);
  const std::string ch = "camera_head.";
  for (int i = 0; i < c.camera_trunk_depth; ++i)
    add_block(p, ch + "trunk." + std::to_string(i) + ".", D2, c.camera_heads, c.camera_mlp_ratio, false);
  for (const char* n : {"token_norm", "trunk_norm"}) {
    p.push_back({ch + n + ".weight", {D2}});
    p.push_back({ch + n + ".bias", {D2}});
  }
  p.push_back({ch + "empty_pose_tokens", {1, 1, 9}});
  p.push_back({ch + "embed_pose.weight", {D2, 9}});
  p.push_back({ch + "embed_pose.bias", {D2}});
  p.push_back({ch + "poseLN_modulation.1.weight", {3 * D2, D2}});
  p.push_back({ch + "poseLN_modulation.1.bias", {3 * D2}});
  p.push_back({ch + "pose_branch.fc1.weight", {D2 / 2, D2}});
  p.push_back({ch + "pose_branch.fc1.bias", {D2 / 2}});
  p.push_back({ch + "pose_branch.fc2.weight", {9, D2 / 2}});
  p.push_back({ch + "pose_branch.fc2.bias", {9}});
  add_dpt(p, "depth_head.", c, 2);
  if (point_head) add_dpt(p, "point_head.", c, 4);
  return p;
}

void check_state_dict(const std::map<std::string, Shape>& shapes, const VggtConfig& cfg, bool point_head,
                      const std::string& file) {
  vg::check_state_dict(shapes, expected_params(cfg, point_head), vggt_check(point_head), file);
}

const Tensor& VggtWeights::at(const std::string& name) const {
  auto it = tensors.find(name);
  VG_CHECK(it != tensors.end(), "VGGT weights: no tensor '", name, "'");
  return it->second;
}

VggtWeights load_weights(const std::filesystem::path& file, const VggtConfig& cfg, bool point_head) {
  StateDict sd = load_state_dict(file, expected_params(cfg, point_head), vggt_check(point_head));
  VggtWeights w;
  for (auto& [k, t] : sd.tensors) {
    VG_CHECK(t.dtype() == DType::F32, file.string(), ": tensor ", k, " is not floating point");
    w.tensors.emplace(k, std::move(t));
  }
  return w;
}

std::filesystem::path resolve_weights_path(const std::string& cli) {
  std::string p = cli;
  if (p.empty())
    if (const char* e = std::getenv("VGSPLAT_VGGT_WEIGHTS")) p = e;
  VG_CHECK(!p.empty(), "no VGGT weights given: ", kWeightsHelp);
  std::error_code ec;
  VG_CHECK(std::filesystem::is_regular_file(p, ec), "VGGT weights file not found: ", p, "; ", kWeightsHelp);
  return p;
}

}  // namespace vg::vggt
