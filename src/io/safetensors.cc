#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"

namespace vg {

namespace {

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

bool parse_st_dtype(const std::string& s, StDType* out) {
  static const std::pair<const char*, StDType> table[] = {{"F32", StDType::F32}, {"F16", StDType::F16},
                                                          {"BF16", StDType::BF16}, {"I64", StDType::I64},
                                                          {"I32", StDType::I32}, {"U8", StDType::U8}};
  for (const auto& [n, t] : table)
    if (s == n) {
      *out = t;
      return true;
    }
  return false;
}

StDType natural_st_dtype(DType t) {
  switch (t) {
    case DType::F32: return StDType::F32;
    case DType::I32: return StDType::I32;
    case DType::I64: return StDType::I64;
    case DType::U8: return StDType::U8;
  }
  return StDType::F32;
}

bool is_float(StDType t) { return t == StDType::F32 || t == StDType::F16 || t == StDType::BF16; }

// Element i of a raw little-endian buffer as double (exact for every supported type but huge I64).
double element_as_double(const uint8_t* p, StDType t, int64_t i) {
  switch (t) {
    case StDType::F32: { float v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case StDType::F16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return half_to_float(v); }
    case StDType::BF16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); return bf16_to_float(v); }
    case StDType::I64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return static_cast<double>(v); }
    case StDType::I32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case StDType::U8: return p[i];
  }
  return 0;
}

int64_t element_as_int(const uint8_t* p, StDType t, int64_t i) {
  switch (t) {
    case StDType::I64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); return v; }
    case StDType::I32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); return v; }
    case StDType::U8: return p[i];
    default: return static_cast<int64_t>(element_as_double(p, t, i));
  }
}

}  // namespace

const char* st_dtype_name(StDType t) {
  switch (t) {
    case StDType::F32: return "F32";
    case StDType::F16: return "F16";
    case StDType::BF16: return "BF16";
    case StDType::I64: return "I64";
    case StDType::I32: return "I32";
    case StDType::U8: return "U8";
  }
  return "?";
}

size_t st_dtype_size(StDType t) {
  switch (t) {
    case StDType::F32: case StDType::I32: return 4;
    case StDType::F16: case StDType::BF16: return 2;
    case StDType::I64: return 8;
    case StDType::U8: return 1;
  }
  return 0;
}

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return bits_float(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t float_to_half(float f) {
  uint32_t x = float_bits(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) return sign | 0x7e00;                    // NaN
  if (x >= 0x47800000u) return sign | 0x7c00;                   // >= 65536 (and inf) -> inf
  if (x < 0x38800000u) {                                        // below 2^-14: subnormal half
    float v = std::nearbyint(bits_float(x) * 16777216.0f);      // units of 2^-24, ties to even
    return sign | static_cast<uint16_t>(v);                     // 1024 becomes the smallest normal
  }
  uint32_t h = ((((x >> 23) - 112) << 10) | ((x & 0x7fffffu) >> 13));
  uint32_t rem = x & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;       // carry may reach inf (>= 65520)
  return sign | static_cast<uint16_t>(h);
}

float bf16_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

uint16_t float_to_bf16(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

// ---- reading ------------------------------------------------------------------------------

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(name.c_str(), O_RDONLY);
  VG_CHECK(fd >= 0, "cannot read ", name, ": ", std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    VG_FAIL("cannot read ", name, ": ", std::strerror(errno));
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    VG_FAIL("corrupt safetensors file ", name, ": ", size, " bytes, shorter than the 8-byte header length");
  }
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  VG_CHECK(p != MAP_FAILED, "cannot map ", name, ": ", std::strerror(errno));

  SafetensorsFile f;
  f.path_ = path;
  f.file_size_ = size;
  f.map_ = std::shared_ptr<const uint8_t>(static_cast<const uint8_t*>(p),
                                          [size](const uint8_t* q) { munmap(const_cast<uint8_t*>(q), size); });
  uint64_t n = 0;
  std::memcpy(&n, f.map_.get(), 8);  // little-endian hosts only (x86-64, aarch64)
  VG_CHECK(n <= size - 8, "corrupt safetensors file ", name, ": header length ", n, " beyond the file size ", size);
  f.data_start_ = 8 + n;
  const uint64_t data_size = size - f.data_start_;

  nlohmann::json header;
  try {
    const char* h = reinterpret_cast<const char*>(f.map_.get() + 8);
    header = nlohmann::json::parse(h, h + n);
  } catch (const nlohmann::json::exception& e) {
    VG_FAIL("corrupt safetensors file ", name, ": bad JSON header (", e.what(), ")");
  }
  VG_CHECK(header.is_object(), "corrupt safetensors file ", name, ": header is not a JSON object");
  for (const auto& [key, v] : header.items()) {
    if (key == "__metadata__") {
      VG_CHECK(v.is_object(), "corrupt safetensors file ", name, ": __metadata__ is not an object");
      for (const auto& [mk, mv] : v.items()) f.metadata_[mk] = mv.is_string() ? mv.get<std::string>() : mv.dump();
      continue;
    }
    const std::string where = "corrupt safetensors file " + name + ": tensor '" + key + "'";
    VG_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), where,
             " lacks dtype/shape/data_offsets");
    SafetensorsEntry e{};
    VG_CHECK(v["dtype"].is_string(), where, " has a non-string dtype");
    const std::string dt = v["dtype"].get<std::string>();
    VG_CHECK(parse_st_dtype(dt, &e.dtype), where, " has unsupported dtype ", dt,
             " (supported: F32 F16 BF16 I64 I32 U8)");
    VG_CHECK(v["shape"].is_array(), where, " has a non-array shape");
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      VG_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0, where, " has a bad shape ", v["shape"].dump());
      e.shape.push_back(d.get<int64_t>());
      VG_CHECK(numel <= (uint64_t{1} << 62) / (static_cast<uint64_t>(e.shape.back()) + 1), where,
               " has an absurd shape");
      numel *= static_cast<uint64_t>(e.shape.back());
    }
    const auto& off = v["data_offsets"];
    VG_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
             where, " has bad data_offsets ", off.dump());
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    VG_CHECK(e.begin <= e.end && e.end <= data_size, where, " data_offsets [", e.begin, ", ", e.end,
             "] out of range (data is ", data_size, " bytes; truncated file?)");
    VG_CHECK(e.end - e.begin == numel * st_dtype_size(e.dtype), where, " has ", e.end - e.begin,
             " bytes but shape ", shape_str(e.shape), " of ", dt, " needs ", numel * st_dtype_size(e.dtype));
    f.entries_[key] = std::move(e);
  }
  return f;
}

std::vector<std::string> SafetensorsFile::keys() const {
  std::vector<std::string> k;
  for (const auto& [n, e] : entries_) k.push_back(n);
  return k;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  VG_CHECK(it != entries_.end(), "safetensors file ", path_.string(), " has no tensor '", name, "'");
  return it->second;
}

Tensor SafetensorsFile::get(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  DType as = is_float(e.dtype) ? DType::F32
             : e.dtype == StDType::I64 ? DType::I64
             : e.dtype == StDType::I32 ? DType::I32
                                       : DType::U8;
  return get(name, as);
}

Tensor SafetensorsFile::get(const std::string& name, DType as) const {
  const SafetensorsEntry& e = entry(name);
  const uint8_t* src = map_.get() + data_start_ + e.begin;
  Tensor t = Tensor::empty(e.shape, as);
  const int64_t n = t.numel();
  if (natural_st_dtype(as) == e.dtype) {
    if (n) std::memcpy(t.raw(), src, t.nbytes());
    return t;
  }
  switch (as) {
    case DType::F32: {
      float* d = t.data<float>();
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(element_as_double(src, e.dtype, i));
      break;
    }
    case DType::I64: {
      VG_CHECK(!is_float(e.dtype), "safetensors ", path_.string(), ": tensor '", name, "' is ",
               st_dtype_name(e.dtype), ", cannot read it as int64");
      int64_t* d = t.data<int64_t>();
      for (int64_t i = 0; i < n; ++i) d[i] = element_as_int(src, e.dtype, i);
      break;
    }
    case DType::I32: {
      VG_CHECK(!is_float(e.dtype), "safetensors ", path_.string(), ": tensor '", name, "' is ",
               st_dtype_name(e.dtype), ", cannot read it as int32");
      int32_t* d = t.data<int32_t>();
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = element_as_int(src, e.dtype, i);
        VG_CHECK(v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max(),
                 "safetensors ", path_.string(), ": tensor '", name, "' value ", v, " does not fit int32");
        d[i] = static_cast<int32_t>(v);
      }
      break;
    }
    case DType::U8:
      VG_FAIL("safetensors ", path_.string(), ": tensor '", name, "' is ", st_dtype_name(e.dtype),
              ", only U8 can be read as uint8");
  }
  return t;
}

std::map<std::string, Tensor> load_safetensors(const std::filesystem::path& path) {
  SafetensorsFile f = SafetensorsFile::open(path);
  std::map<std::string, Tensor> out;
  for (const std::string& k : f.keys()) out[k] = f.get(k);
  return out;
}

// ---- writing ------------------------------------------------------------------------------

void SafetensorsWriter::add(const std::string& name, const Tensor& t) {
  VG_CHECK(t.defined(), "safetensors: tensor '", name, "' is undefined");
  add(name, t, natural_st_dtype(t.dtype()));
}

void SafetensorsWriter::add(const std::string& name, const Tensor& t, StDType stored) {
  VG_CHECK(t.defined(), "safetensors: tensor '", name, "' is undefined");
  VG_CHECK(!name.empty() && name != "__metadata__", "safetensors: bad tensor name '", name, "'");
  const bool ok = stored == natural_st_dtype(t.dtype()) || (t.dtype() == DType::F32 && is_float(stored));
  VG_CHECK(ok, "safetensors: cannot store ", dtype_name(t.dtype()), " tensor '", name, "' as ", st_dtype_name(stored));
  Tensor h = t.is_cuda() ? t.to(Device::cpu()) : t;
  Item item{stored, h.shape(), {}};
  if (stored == natural_st_dtype(h.dtype())) {
    item.bytes.assign(static_cast<const char*>(h.raw()), h.nbytes());
  } else {
    const float* s = h.data<float>();
    item.bytes.resize(static_cast<size_t>(h.numel()) * 2);
    for (int64_t i = 0; i < h.numel(); ++i) {
      uint16_t v = stored == StDType::F16 ? float_to_half(s[i]) : float_to_bf16(s[i]);
      std::memcpy(&item.bytes[2 * i], &v, 2);
    }
  }
  items_[name] = std::move(item);
}

std::string SafetensorsWriter::serialize() const {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t off = 0;
  for (const auto& [name, it] : items_) {
    header[name] = {{"dtype", st_dtype_name(it.dtype)},
                    {"shape", it.shape},
                    {"data_offsets", {off, off + it.bytes.size()}}};
    off += it.bytes.size();
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // data buffer starts 8-byte aligned
  std::string out(8, '\0');
  uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  out += h;
  out.reserve(out.size() + off);
  for (const auto& [name, it] : items_) out += it.bytes;
  return out;
}

void SafetensorsWriter::write(const std::filesystem::path& path) const { write_file_atomic(path, serialize()); }

void save_safetensors(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  SafetensorsWriter w;
  for (const auto& [k, t] : tensors) w.add(k, t);
  for (const auto& [k, v] : metadata) w.set_metadata(k, v);
  w.write(path);
}

}  // namespace vg
