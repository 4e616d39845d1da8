#include "splat/checkpoint.h"

#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"

namespace vg {

using nlohmann::json;

namespace {

// The safetensors layout (huggingface/safetensors): u64 little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets [begin, end)}, "__metadata__": {str: str}}, then the raw bytes.
const char* st_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

DType parse_dtype(const std::string& s, const std::string& file) {
  if (s == "F32") return DType::F32;
  if (s == "I32") return DType::I32;
  if (s == "I64") return DType::I64;
  if (s == "U8") return DType::U8;
  VG_FAIL(file, ": unsupported checkpoint dtype ", s);
}

std::string serialize(const std::map<std::string, Tensor>& tensors, const std::map<std::string, std::string>& meta) {
  json header = json::object();
  header["__metadata__"] = meta;
  size_t offset = 0;
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    host.push_back(t.to(Device::cpu()));
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += h;
  out.reserve(out.size() + offset);
  for (const Tensor& t : host) out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

struct Parsed {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> meta;
};

Parsed parse_entries(const json& header, const std::string& bytes, size_t data0, const std::string& file);

Parsed deserialize(const std::string& bytes, const std::string& file) {
  VG_CHECK(bytes.size() >= 8, file, ": truncated checkpoint (", bytes.size(), " bytes)");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  VG_CHECK(n <= bytes.size() - 8, file, ": header length ", n, " runs past the end of the file");
  json header;
  try {
    header = json::parse(bytes.substr(8, n));
  } catch (const std::exception& e) {
    VG_FAIL(file, ": bad checkpoint header: ", e.what());
  }
  try {
    return parse_entries(header, bytes, 8 + n, file);
  } catch (const nlohmann::json::exception& e) {
    VG_FAIL(file, ": bad checkpoint header: ", e.what());
  }
}

Parsed parse_entries(const json& header, const std::string& bytes, size_t data0, const std::string& file) {
  Parsed p;
  size_t avail = bytes.size() - data0;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      p.meta = it.value().get<std::map<std::string, std::string>>();
      continue;
    }
    const json& e = it.value();
    DType dt = parse_dtype(e.at("dtype").get<std::string>(), file);
    Shape shape = e.at("shape").get<Shape>();
    auto off = e.at("data_offsets").get<std::vector<uint64_t>>();
    VG_CHECK(off.size() == 2 && off[0] <= off[1] && off[1] <= avail, file, ": tensor ", it.key(),
             " has data offsets outside the file");
    Tensor t = Tensor::empty(shape, dt);
    VG_CHECK(t.nbytes() == off[1] - off[0], file, ": tensor ", it.key(), " size does not match its shape ",
             shape_str(shape));
    if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + data0 + off[0], t.nbytes());
    p.tensors[it.key()] = std::move(t);
  }
  return p;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& ckpt) {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> meta;
  meta["format"] = "vgsplat-checkpoint-1";
  meta["step"] = std::to_string(ckpt.step);
  meta["scene_scale"] = json(ckpt.scene_scale).dump();
  meta["config"] = ckpt.config_json;
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    std::string name = Gaussians::group_name(i);
    tensors["splats." + name] = ckpt.gaussians.group(i);
    const AdamState& a = ckpt.adam[i];
    if (!a.exp_avg.defined()) continue;
    tensors["optim." + name + ".exp_avg"] = a.exp_avg;
    tensors["optim." + name + ".exp_avg_sq"] = a.exp_avg_sq;
    meta["optim." + name + ".step"] = std::to_string(a.step);
  }
  if (ckpt.strategy.grad2d.defined()) {
    tensors["strategy.grad2d"] = ckpt.strategy.grad2d;
    tensors["strategy.count"] = ckpt.strategy.count;
  }
  write_file_atomic(path, serialize(tensors, meta));
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  std::string file = path.string();
  Parsed p = deserialize(read_file(path), file);
  auto meta = [&](const std::string& k) {
    auto it = p.meta.find(k);
    VG_CHECK(it != p.meta.end(), file, ": not a vgsplat checkpoint (no '", k, "' in the metadata)");
    return it->second;
  };
  VG_CHECK(meta("format") == "vgsplat-checkpoint-1", file, ": unknown checkpoint format ", meta("format"));
  Checkpoint c;
  try {
    c.step = std::stoi(meta("step"));
    c.scene_scale = json::parse(meta("scene_scale")).get<float>();
  } catch (const vg::Error&) {
    throw;
  } catch (const std::exception& e) {
    VG_FAIL(file, ": bad checkpoint metadata: ", e.what());
  }
  c.config_json = meta("config");
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    std::string name = Gaussians::group_name(i);
    auto it = p.tensors.find("splats." + name);
    VG_CHECK(it != p.tensors.end(), file, ": checkpoint lacks parameter group ", name);
    c.gaussians.group(i) = it->second;
    auto m1 = p.tensors.find("optim." + name + ".exp_avg"), m2 = p.tensors.find("optim." + name + ".exp_avg_sq");
    if (m1 == p.tensors.end() || m2 == p.tensors.end()) continue;
    VG_CHECK(m1->second.shape() == it->second.shape() && m2->second.shape() == it->second.shape(), file,
             ": Adam moments of ", name, " do not match the parameter shape ", shape_str(it->second.shape()));
    c.adam[i].exp_avg = m1->second;
    c.adam[i].exp_avg_sq = m2->second;
    c.adam[i].step = std::stoll(meta("optim." + name + ".step"));
  }
  int64_t n = c.gaussians.means.size(0);
  for (int i = 0; i < Gaussians::kGroups; ++i)
    VG_CHECK(c.gaussians.group(i).size(0) == n, file, ": parameter group ", Gaussians::group_name(i), " has ",
             c.gaussians.group(i).size(0), " rows, means has ", n);
  auto g2 = p.tensors.find("strategy.grad2d"), cnt = p.tensors.find("strategy.count");
  if (g2 != p.tensors.end() && cnt != p.tensors.end()) {
    c.strategy.grad2d = g2->second;
    c.strategy.count = cnt->second;
  }
  c.strategy.scene_scale = c.scene_scale;
  return c;
}

}  // namespace vg
