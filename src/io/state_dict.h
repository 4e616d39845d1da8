// Loading a network's weights by their official state-dict names from the published file as it is: a
// torch.save zip or legacy pickle (.pt / .pth) or a .safetensors file (decided by the file's bytes). Keys and
// shapes are checked against what the engine reads; every problem is reported in ONE vg::Error.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace vg {

using ParamList = std::vector<std::pair<std::string, Shape>>;  // name -> expected shape, in reading order

struct StateDict {
  std::map<std::string, Tensor> tensors;  // F32 CPU (integer tensors keep their type), official names
  const Tensor& at(const std::string& name) const;  // throws naming the key when absent
  bool has(const std::string& name) const { return tensors.count(name) != 0; }
};

struct StateDictCheck {
  std::string what;  // "VGGSfM tracker": "<file> does not hold the <what> weights ...", "<what> weights file not found"
  std::string help;                       // where the published file is, appended when most keys are missing
  std::vector<std::string> ignored_prefixes;  // keys starting with one of these are dropped silently
  std::vector<std::string> ignored_suffixes;  // ... or ending with one of these ("num_batches_tracked")
};

// Throws one vg::Error listing missing, mis-shaped and unexpected keys (first 20 of each, with counts).
void check_state_dict(const std::map<std::string, Shape>& shapes, const ParamList& expected,
                      const StateDictCheck& check, const std::string& file);

// Reads, checks and keeps the expected keys (ignored ones dropped). A missing file throws naming `help`.
StateDict load_state_dict(const std::filesystem::path& file, const ParamList& expected, const StateDictCheck& check);

// A conv (weight [out, in, k, k], bias [out] when `bias`) and similar small builders of ParamLists.
void add_conv_params(ParamList& p, const std::string& pre, int64_t out, int64_t in, int64_t k, bool bias = true);
void add_linear_params(ParamList& p, const std::string& pre, int64_t out, int64_t in, bool bias = true);
void add_norm_params(ParamList& p, const std::string& pre, int64_t dim);  // weight + bias [dim]

}  // namespace vg
