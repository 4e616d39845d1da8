// VGGT checkpoint loading by the official state-dict key names ("aggregator.frame_blocks.0.attn.qkv.weight",
// ...): `model.safetensors` (memory-mapped) or the PyTorch `model.pt` zip, F32/F16/BF16 as stored (held as F32).
// Keys and shapes are checked against the configuration; every problem is reported in ONE vg::Error.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "vggt/config.h"

namespace vg::vggt {

// Where the released weights come from (used in error messages).
inline constexpr const char* kWeightsHelp =
    "download model.safetensors (or model.pt) from the facebook/VGGT-1B model page on Hugging Face "
    "(https://huggingface.co/facebook/VGGT-1B) and pass it with --weights FILE or the VGSPLAT_VGGT_WEIGHTS "
    "environment variable";

// Every parameter the CPU engine reads, with its shape: aggregator, camera head, depth head, and the point
// head when `point_head`. (The official checkpoint's track_head.* keys are accepted and ignored.)
std::vector<std::pair<std::string, Shape>> expected_params(const VggtConfig& cfg, bool point_head);

// Throws one vg::Error listing missing, mis-shaped and unexpected keys (first 20 of each, with counts).
// `file` names the checkpoint in the message.
void check_state_dict(const std::map<std::string, Shape>& shapes, const VggtConfig& cfg, bool point_head,
                      const std::string& file);

struct VggtWeights {
  std::map<std::string, Tensor> tensors;  // F32 CPU, official names (track_head.* and unused heads dropped)
  const Tensor& at(const std::string& name) const;  // throws naming the key when absent
  bool has(const std::string& name) const { return tensors.count(name) != 0; }
};

// Reads a .safetensors or torch.save zip (decided by the file's bytes), checks it, keeps what the engine uses.
VggtWeights load_weights(const std::filesystem::path& file, const VggtConfig& cfg, bool point_head);

// The weights file: `cli` when non-empty, else $VGSPLAT_VGGT_WEIGHTS. Throws with kWeightsHelp when neither
// is given or the file does not exist.
std::filesystem::path resolve_weights_path(const std::string& cli);

}  // namespace vg::vggt
