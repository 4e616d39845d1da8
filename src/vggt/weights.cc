#include "vggt/weights.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "io/safetensors.h"
#include "io/torch_pickle.h"

namespace vg::vggt {

namespace {

using Params = std::vector<std::pair<std::string, Shape>>;

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

void add_conv(Params& p, const std::string& pre, int64_t out, int64_t in, int64_t k, bool bias = true) {
  p.push_back({pre + ".weight", {out, in, k, k}});
  if (bias) p.push_back({pre + ".bias", {out}});
}

void add_dpt(Params& p, const std::string& pre, const VggtConfig& c, int64_t output_dim) {
  const int64_t din = c.token_dim(), F = c.dpt_features;
  const auto& oc = c.dpt_out_channels;
  p.push_back({pre + "norm.weight", {din}});
  p.push_back({pre + "norm.bias", {din}});
  for (int k = 0; k < 4; ++k) add_conv(p, pre + "projects." + std::to_string(k), oc[k], din, 1);
  add_conv(p, pre + "resize_layers.0", oc[0], oc[0], 4);  // ConvTranspose2d: [in, out, k, k]
  add_conv(p, pre + "resize_layers.1", oc[1], oc[1], 2);
  add_conv(p, pre + "resize_layers.3", oc[3], oc[3], 3);
  for (int k = 0; k < 4; ++k)
    add_conv(p, pre + "scratch.layer" + std::to_string(k + 1) + "_rn", F, oc[k], 3, /*bias=*/false);
  for (int r = 1; r <= 4; ++r) {
    const std::string rn = pre + "scratch.refinenet" + std::to_string(r) + ".";
    add_conv(p, rn + "out_conv", F, F, 1);
    for (int u = (r == 4 ? 2 : 1); u <= 2; ++u)
      for (const char* conv : {"conv1", "conv2"})
        add_conv(p, rn + "resConfUnit" + std::to_string(u) + "." + conv, F, F, 3);
  }
  add_conv(p, pre + "scratch.output_conv1", F / 2, F, 3);
  add_conv(p, pre + "scratch.output_conv2.0", 32, F / 2, 3);
  add_conv(p, pre + "scratch.output_conv2.2", output_dim, 32, 1);
}

bool ignored_key(const std::string& k, bool point_head) {
  return k.rfind("track_head.", 0) == 0 || (!point_head && k.rfind("point_head.", 0) == 0);
}

void list_some(std::ostringstream& os, const char* what, const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  os << "; " << keys.size() << " " << what << ":";
  for (size_t i = 0; i < keys.size() && i < 20; ++i) os << (i ? ", " : " ") << keys[i];
  if (keys.size() > 20) os << ", ... (" << keys.size() - 20 << " more)";
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
  add_conv(p, pe + "patch_embed.proj", E, 3, c.patch_size);
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
  std::vector<std::string> missing, misshaped, unexpected;
  std::set<std::string> known;
  for (const auto& [name, shape] : expected_params(cfg, point_head)) {
    known.insert(name);
    auto it = shapes.find(name);
    if (it == shapes.end())
      missing.push_back(name);
    else if (it->second != shape)
      misshaped.push_back(name + " " + shape_str(it->second) + " (expected " + shape_str(shape) + ")");
  }
  for (const auto& [name, shape] : shapes)
    if (!known.count(name) && !ignored_key(name, point_head)) unexpected.push_back(name);
  if (missing.empty() && misshaped.empty() && unexpected.empty()) return;
  std::ostringstream os;
  os << file << " is not a VGGT checkpoint for this configuration";
  list_some(os, "missing keys", missing);
  list_some(os, "mis-shaped keys", misshaped);
  list_some(os, "unexpected keys", unexpected);
  if (!missing.empty() && missing.size() * 2 > known.size())
    os << " (is this the facebook/VGGT-1B checkpoint? " << kWeightsHelp << ")";
  VG_FAIL(os.str());
}

const Tensor& VggtWeights::at(const std::string& name) const {
  auto it = tensors.find(name);
  VG_CHECK(it != tensors.end(), "VGGT weights: no tensor '", name, "'");
  return it->second;
}

VggtWeights load_weights(const std::filesystem::path& file, const VggtConfig& cfg, bool point_head) {
  std::error_code ec;
  VG_CHECK(std::filesystem::is_regular_file(file, ec), "VGGT weights file not found: ", file.string(), "; ",
           kWeightsHelp);
  char magic[4] = {0, 0, 0, 0};
  {
    std::ifstream in(file, std::ios::binary);
    in.read(magic, 4);
  }
  const bool zip = std::string_view(magic, 4) == std::string_view("PK\x03\x04", 4);
  std::map<std::string, Shape> shapes;
  VggtWeights w;
  if (zip) {
    std::map<std::string, Tensor> all = load_torch_state_dict(file);
    for (const auto& [k, t] : all) shapes[k] = t.shape();
    check_state_dict(shapes, cfg, point_head, file.string());
    for (auto& [k, t] : all)
      if (!ignored_key(k, point_head)) {
        VG_CHECK(t.dtype() == DType::F32, file.string(), ": tensor ", k, " is not floating point");
        w.tensors.emplace(k, std::move(t));
      }
    return w;
  }
  SafetensorsFile st = SafetensorsFile::open(file);
  for (const std::string& k : st.keys()) shapes[k] = st.entry(k).shape;
  check_state_dict(shapes, cfg, point_head, file.string());
  for (const std::string& k : st.keys())
    if (!ignored_key(k, point_head)) w.tensors.emplace(k, st.get(k, DType::F32));
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
