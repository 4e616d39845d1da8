// Reading 3DGS PLY files (declared in io/ply.h).
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "io/ply.h"

namespace vg {

namespace {

struct Property {
  std::string name;
  int size = 0;     // bytes
  char kind = 'f';  // 'f' float, 'i' signed, 'u' unsigned
  size_t offset = 0;
};

bool property_type(const std::string& t, Property& p) {
  static const std::map<std::string, std::pair<int, char>> types = {
      {"char", {1, 'i'}},  {"int8", {1, 'i'}},   {"uchar", {1, 'u'}},  {"uint8", {1, 'u'}},
      {"short", {2, 'i'}}, {"int16", {2, 'i'}},  {"ushort", {2, 'u'}}, {"uint16", {2, 'u'}},
      {"int", {4, 'i'}},   {"int32", {4, 'i'}},  {"uint", {4, 'u'}},   {"uint32", {4, 'u'}},
      {"float", {4, 'f'}}, {"float32", {4, 'f'}}, {"double", {8, 'f'}}, {"float64", {8, 'f'}}};
  auto it = types.find(t);
  if (it == types.end()) return false;
  p.size = it->second.first;
  p.kind = it->second.second;
  return true;
}

float load(const char* p, const Property& prop) {
  switch (prop.size * 4 + (prop.kind == 'f' ? 0 : prop.kind == 'i' ? 1 : 2)) {
    case 16: { float v; std::memcpy(&v, p, 4); return v; }
    case 32: { double v; std::memcpy(&v, p, 8); return static_cast<float>(v); }
    case 5: return static_cast<float>(static_cast<int8_t>(*p));
    case 6: return static_cast<float>(static_cast<uint8_t>(*p));
    case 9: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case 10: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case 17: { int32_t v; std::memcpy(&v, p, 4); return static_cast<float>(v); }
    default: { uint32_t v; std::memcpy(&v, p, 4); return static_cast<float>(v); }
  }
}

struct Header {
  int64_t count = -1;
  size_t stride = 0, data_start = 0;
  std::map<std::string, Property> props;
};

Header parse_header(const std::filesystem::path& path, const std::string& bytes) {
  const size_t end = bytes.find("end_header\n");
  VG_CHECK(bytes.rfind("ply\n", 0) == 0 && end != std::string::npos, "cannot read ", path.string(),
           ": not a PLY file (no 'ply' ... 'end_header')");
  Header h;
  h.data_start = end + std::strlen("end_header\n");
  std::istringstream is(bytes.substr(0, end));
  bool in_vertex = false, binary_le = false;
  for (std::string line; std::getline(is, line);) {
    std::istringstream ls(line);
    std::string kw;
    ls >> kw;
    if (kw == "format") {
      std::string f;
      ls >> f;
      binary_le = f == "binary_little_endian";
    } else if (kw == "element") {
      std::string name;
      int64_t n = 0;
      VG_CHECK(ls >> name >> n && n >= 0, "cannot read ", path.string(), ": bad element line '", line, "'");
      in_vertex = h.count < 0 && name == "vertex";
      if (in_vertex) h.count = n;
      else VG_CHECK(h.count >= 0, "cannot read ", path.string(), ": element '", name, "' before 'vertex'");
    } else if (kw == "property" && in_vertex) {
      std::string type;
      Property p;
      ls >> type >> p.name;
      VG_CHECK(property_type(type, p), "cannot read ", path.string(), ": unsupported property type '", type, "'");
      p.offset = h.stride;
      h.stride += static_cast<size_t>(p.size);
      h.props[p.name] = p;
    }
  }
  VG_CHECK(binary_le, "cannot read ", path.string(), ": only binary_little_endian 3DGS PLY files are supported");
  VG_CHECK(h.count >= 0, "cannot read ", path.string(), ": no vertex element");
  VG_CHECK(h.stride > 0, "cannot read ", path.string(), ": the vertex element has no properties");
  // Divided, not multiplied: a corrupt count must not overflow into a small product.
  VG_CHECK(static_cast<uint64_t>(h.count) <= (bytes.size() - h.data_start) / h.stride, "truncated PLY file ",
           path.string(), ": ", h.count, " vertices of ", h.stride, " bytes do not fit in the ",
           bytes.size() - h.data_start, " data bytes");
  return h;
}

}  // namespace

Gaussians read_ply_3dgs(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  const Header h = parse_header(path, bytes);
  int rest = 0;
  while (h.props.count("f_rest_" + std::to_string(rest))) ++rest;
  const int64_t k1 = rest / 3;
  VG_CHECK(rest % 3 == 0, "cannot read ", path.string(), ": ", rest, " f_rest properties is not a multiple of 3");
  auto prop = [&](const std::string& name) -> const Property& {
    auto it = h.props.find(name);
    VG_CHECK(it != h.props.end(), "cannot read ", path.string(), ": missing property '", name, "'");
    return it->second;
  };
  const int64_t n = h.count;
  std::vector<float> means(3 * n), scales(3 * n), quats(4 * n), opac(n), sh0(3 * n), shN(3 * k1 * n);
  // dst[first + i * dst_stride] = property `name` of vertex i (indices, not pointers: dst is empty when n == 0).
  auto column = [&](const std::string& name, std::vector<float>& dst, int64_t first, int64_t dst_stride) {
    const Property& p = prop(name);
    const char* base = bytes.data() + h.data_start + p.offset;
    for (int64_t i = 0; i < n; ++i) dst[first + i * dst_stride] = load(base + h.stride * i, p);
  };
  for (int d = 0; d < 3; ++d) {
    column(std::string(1, "xyz"[d]), means, d, 3);
    column("f_dc_" + std::to_string(d), sh0, d, 3);
    column("scale_" + std::to_string(d), scales, d, 3);
    for (int64_t j = 0; j < k1; ++j)  // channel-major in the file, [N,K-1,3] in memory
      column("f_rest_" + std::to_string(d * k1 + j), shN, j * 3 + d, 3 * k1);
  }
  for (int d = 0; d < 4; ++d) column("rot_" + std::to_string(d), quats, d, 4);
  column("opacity", opac, 0, 1);
  Gaussians g;
  g.means = Tensor::from_vector(means, {n, 3});
  g.scales = Tensor::from_vector(scales, {n, 3});
  g.quats = Tensor::from_vector(quats, {n, 4});
  g.opacities = Tensor::from_vector(opac, {n});
  g.sh0 = Tensor::from_vector(sh0, {n, 3});
  g.shN = Tensor::from_vector(shN, {n, k1, 3});
  const int deg = static_cast<int>(std::lround(std::sqrt(static_cast<double>(k1 + 1)))) - 1;
  VG_CHECK(sh_coeffs(deg) == k1 + 1, "cannot read ", path.string(), ": ", rest,
           " f_rest properties do not make a full SH degree");
  return g;
}

}  // namespace vg
