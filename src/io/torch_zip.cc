// Zip central-directory reader for torch.save archives (PKWARE APPNOTE: end of central directory,
// zip64 locator/record, central file headers, local file headers).
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "io/torch_pickle.h"

namespace vg {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;

template <typename T>
T read_le(std::string_view b, uint64_t off, const std::string& file) {
  VG_CHECK(off <= b.size() && sizeof(T) <= b.size() - off, "corrupt zip ", file, ": read at ", off,
           " beyond the end (", b.size(), " bytes)");
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

}  // namespace

bool looks_like_zip(std::string_view bytes) {
  uint32_t sig = 0;
  if (bytes.size() < 4) return false;
  std::memcpy(&sig, bytes.data(), 4);
  return sig == kLocalSig;
}

StoredZip::StoredZip(std::string_view bytes, std::string file_name) : bytes_(bytes), file_(std::move(file_name)) {
  const std::string& f = file_;
  VG_CHECK(bytes.size() >= 22, "corrupt zip ", f, ": too short for an end-of-central-directory record");
  // The EOCD record (22 bytes + comment up to 65535) is at the end.
  int64_t eocd = -1;
  const int64_t lowest = std::max<int64_t>(0, static_cast<int64_t>(bytes.size()) - 22 - 65535);
  for (int64_t p = static_cast<int64_t>(bytes.size()) - 22; p >= lowest; --p)
    if (read_le<uint32_t>(bytes, p, f) == kEocdSig) {
      eocd = p;
      break;
    }
  VG_CHECK(eocd >= 0, "corrupt zip ", f, ": no end-of-central-directory record (truncated?)");
  uint64_t count = read_le<uint16_t>(bytes, eocd + 10, f);
  uint64_t cd_size = read_le<uint32_t>(bytes, eocd + 12, f);
  uint64_t cd_off = read_le<uint32_t>(bytes, eocd + 16, f);
  if (count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
    VG_CHECK(eocd >= 20 && read_le<uint32_t>(bytes, eocd - 20, f) == kZip64LocatorSig, "corrupt zip ", f,
             ": zip64 locator missing");
    uint64_t z = read_le<uint64_t>(bytes, eocd - 20 + 8, f);
    VG_CHECK(read_le<uint32_t>(bytes, z, f) == kZip64EocdSig, "corrupt zip ", f, ": bad zip64 end record");
    count = read_le<uint64_t>(bytes, z + 32, f);
    cd_size = read_le<uint64_t>(bytes, z + 40, f);
    cd_off = read_le<uint64_t>(bytes, z + 48, f);
  }
  VG_CHECK(cd_off <= bytes.size() && cd_size <= bytes.size() - cd_off, "corrupt zip ", f,
           ": central directory out of range");

  uint64_t p = cd_off;
  for (uint64_t i = 0; i < count; ++i) {
    VG_CHECK(read_le<uint32_t>(bytes, p, f) == kCentralSig, "corrupt zip ", f, ": bad central header ", i);
    Entry e;
    e.method = read_le<uint16_t>(bytes, p + 10, f);
    uint64_t csize = read_le<uint32_t>(bytes, p + 20, f);
    uint64_t usize = read_le<uint32_t>(bytes, p + 24, f);
    uint16_t nlen = read_le<uint16_t>(bytes, p + 28, f), xlen = read_le<uint16_t>(bytes, p + 30, f);
    uint16_t clen = read_le<uint16_t>(bytes, p + 32, f);
    uint64_t local = read_le<uint32_t>(bytes, p + 42, f);
    VG_CHECK(p + 46 + nlen + xlen <= bytes.size(), "corrupt zip ", f, ": central header ", i, " out of range");
    e.name.assign(bytes.data() + p + 46, nlen);
    // zip64 extended information: the 8-byte fields present are those whose 32-bit field is saturated.
    for (uint64_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
      uint16_t id = read_le<uint16_t>(bytes, x, f), len = read_le<uint16_t>(bytes, x + 2, f);
      if (id == 0x0001) {
        uint64_t q = x + 4;
        if (usize == 0xffffffffu) usize = read_le<uint64_t>(bytes, q, f), q += 8;
        if (csize == 0xffffffffu) csize = read_le<uint64_t>(bytes, q, f), q += 8;
        if (local == 0xffffffffu) local = read_le<uint64_t>(bytes, q, f);
      }
      x += 4 + len;
    }
    VG_CHECK(read_le<uint32_t>(bytes, local, f) == kLocalSig, "corrupt zip ", f, ": bad local header for ", e.name);
    uint64_t data = local + 30 + read_le<uint16_t>(bytes, local + 26, f) + read_le<uint16_t>(bytes, local + 28, f);
    e.data_offset = data;
    e.size = e.method == 0 ? usize : csize;
    VG_CHECK(e.method != 0 || csize == usize, "corrupt zip ", f, ": stored entry ", e.name, " has sizes ", csize,
             " != ", usize);
    VG_CHECK(data <= bytes.size() && e.size <= bytes.size() - data, "corrupt zip ", f, ": entry ", e.name,
             " extends beyond the file (truncated?)");
    entries_.push_back(std::move(e));
    p += 46 + nlen + xlen + clen;
  }
}

const StoredZip::Entry* StoredZip::find(const std::string& name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::string_view StoredZip::data(const Entry& e) const {
  VG_CHECK(e.method == 0, "zip ", file_, ": entry ", e.name, " is compressed (method ", e.method,
           "); torch.save archives store entries uncompressed");
  return bytes_.substr(e.data_offset, e.size);
}

}  // namespace vg
