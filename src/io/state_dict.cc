#include "io/state_dict.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "io/safetensors.h"
#include "io/torch_pickle.h"

namespace vg {

namespace {

void list_some(std::ostringstream& os, const char* what, const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  os << "; " << keys.size() << " " << what << ":";
  for (size_t i = 0; i < keys.size() && i < 20; ++i) os << (i ? ", " : " ") << keys[i];
  if (keys.size() > 20) os << ", ... (" << keys.size() - 20 << " more)";
}

bool ignored(const std::string& k, const StateDictCheck& check) {
  for (const std::string& p : check.ignored_prefixes)
    if (k.rfind(p, 0) == 0) return true;
  for (const std::string& s : check.ignored_suffixes)
    if (k.size() >= s.size() && k.compare(k.size() - s.size(), s.size(), s) == 0) return true;
  return false;
}

// torch.save output: a zip, or the legacy format, which opens with the pickled magic number
// 0x1950a86a20f9469cfc6c (protocol 2: PROTO 2, LONG1 of 10 bytes). Anything else is read as safetensors.
bool is_torch_file(const std::filesystem::path& file) {
  unsigned char m[14] = {};
  std::ifstream in(file, std::ios::binary);
  in.read(reinterpret_cast<char*>(m), sizeof m);
  static const unsigned char kLegacy[14] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                            0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  return (m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4) || std::equal(m, m + 14, kLegacy);
}

}  // namespace

const Tensor& StateDict::at(const std::string& name) const {
  auto it = tensors.find(name);
  VG_CHECK(it != tensors.end(), "weights: no tensor '", name, "'");
  return it->second;
}

void check_state_dict(const std::map<std::string, Shape>& shapes, const ParamList& expected,
                      const StateDictCheck& check, const std::string& file) {
  std::vector<std::string> missing, misshaped, unexpected;
  std::set<std::string> known;
  for (const auto& [name, shape] : expected) {
    known.insert(name);
    auto it = shapes.find(name);
    if (it == shapes.end())
      missing.push_back(name);
    else if (it->second != shape)
      misshaped.push_back(name + " " + shape_str(it->second) + " (expected " + shape_str(shape) + ")");
  }
  for (const auto& [name, shape] : shapes)
    if (!known.count(name) && !ignored(name, check)) unexpected.push_back(name);
  if (missing.empty() && misshaped.empty() && unexpected.empty()) return;
  std::ostringstream os;
  os << file << " does not hold the " << check.what << " weights of this configuration";
  list_some(os, "missing keys", missing);
  list_some(os, "mis-shaped keys", misshaped);
  list_some(os, "unexpected keys", unexpected);
  if (!check.help.empty() && !missing.empty() && missing.size() * 2 > known.size())
    os << " (is this the right file? " << check.help << ")";
  VG_FAIL(os.str());
}

StateDict load_state_dict(const std::filesystem::path& file, const ParamList& expected, const StateDictCheck& check) {
  std::error_code ec;
  VG_CHECK(std::filesystem::is_regular_file(file, ec), check.what, " weights file not found: ", file.string(),
           check.help.empty() ? "" : "; ", check.help);
  std::map<std::string, Shape> shapes;
  StateDict sd;
  if (is_torch_file(file)) {
    std::map<std::string, Tensor> all = load_torch_state_dict(file);
    for (const auto& [k, t] : all) shapes[k] = t.shape();
    check_state_dict(shapes, expected, check, file.string());
    for (auto& [k, t] : all)
      if (!ignored(k, check)) sd.tensors.emplace(k, std::move(t));
    return sd;
  }
  SafetensorsFile st = SafetensorsFile::open(file);
  for (const std::string& k : st.keys()) shapes[k] = st.entry(k).shape;
  check_state_dict(shapes, expected, check, file.string());
  for (const std::string& k : st.keys())
    if (!ignored(k, check)) sd.tensors.emplace(k, st.get(k));
  return sd;
}

void add_conv_params(ParamList& p, const std::string& pre, int64_t out, int64_t in, int64_t k, bool bias) {
  p.push_back({pre + ".weight", {out, in, k, k}});
  if (bias) p.push_back({pre + ".bias", {out}});
}

void add_linear_params(ParamList& p, const std::string& pre, int64_t out, int64_t in, bool bias) {
  p.push_back({pre + ".weight", {out, in}});
  if (bias) p.push_back({pre + ".bias", {out}});
}

void add_norm_params(ParamList& p, const std::string& pre, int64_t dim) {
  p.push_back({pre + ".weight", {dim}});
  p.push_back({pre + ".bias", {dim}});
}

}  // namespace vg
