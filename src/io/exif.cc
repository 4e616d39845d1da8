// Bounded EXIF reader: every read is checked against the span; bad input gives nullopt.
#include "io/exif.h"

#include <algorithm>
#include <cstdint>
#include <fstream>

namespace vg {

namespace {

struct Tiff {
  std::string_view b;
  bool big_endian = false;
  bool ok(uint64_t off, uint64_t n) const { return off <= b.size() && n <= b.size() - off; }
  uint32_t u(uint64_t off, int n) const {  // caller checked ok(off, n)
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      const uint32_t byte = static_cast<unsigned char>(b[off + (big_endian ? i : n - 1 - i)]);
      v = (v << 8) | byte;
    }
    return v;
  }
};

// Byte size of one value of a TIFF type (0: unknown type).
int type_size(uint32_t type) {
  switch (type) {
    case 1: case 2: case 6: case 7: return 1;
    case 3: case 8: return 2;
    case 4: case 9: case 11: return 4;
    case 5: case 10: case 12: return 8;
    default: return 0;
  }
}

struct Entry {
  uint32_t tag = 0, type = 0, count = 0;
  uint64_t data = 0;  // offset of the value bytes (inline or pointed to), bounds checked
};

std::optional<Entry> entry_at(const Tiff& t, uint64_t off) {
  Entry e{t.u(off, 2), t.u(off + 2, 2), t.u(off + 4, 4), 0};
  const int sz = type_size(e.type);
  if (sz == 0) return std::nullopt;
  const uint64_t bytes = uint64_t{e.count} * sz;
  e.data = bytes <= 4 ? off + 8 : t.u(off + 8, 4);
  if (!t.ok(e.data, bytes)) return std::nullopt;
  return e;
}

double number(const Tiff& t, const Entry& e) {
  if (e.count < 1) return 0;
  if (e.type == 3) return t.u(e.data, 2);
  if (e.type == 4) return t.u(e.data, 4);
  if (e.type == 5) {
    const uint32_t num = t.u(e.data, 4), den = t.u(e.data + 4, 4);
    return den == 0 ? 0 : static_cast<double>(num) / den;
  }
  return 0;
}

std::string text(const Tiff& t, const Entry& e) {
  if (e.type != 2) return {};
  std::string s(t.b.substr(e.data, e.count));
  s = s.substr(0, s.find('\0'));
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// Walks one IFD, calling f(entry) for each well-formed entry; false if the IFD header is out of bounds.
template <typename F>
bool walk_ifd(const Tiff& t, uint64_t off, F&& f) {
  if (!t.ok(off, 2)) return false;
  const uint32_t n = t.u(off, 2);
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t eo = off + 2 + 12ull * i;
    if (!t.ok(eo, 12)) return false;
    if (auto e = entry_at(t, eo)) f(*e);
  }
  return true;
}

}  // namespace

std::optional<ExifInfo> parse_exif_tiff(std::string_view tiff) {
  Tiff t{tiff};
  if (!t.ok(0, 8)) return std::nullopt;
  if (tiff.substr(0, 2) == "MM") t.big_endian = true;
  else if (tiff.substr(0, 2) != "II") return std::nullopt;
  if (t.u(2, 2) != 42) return std::nullopt;
  ExifInfo info;
  uint64_t exif_ifd = 0;
  const bool ok0 = walk_ifd(t, t.u(4, 4), [&](const Entry& e) {
    if (e.tag == 0x010F) info.make = text(t, e);
    else if (e.tag == 0x0110) info.model = text(t, e);
    else if (e.tag == 0x8769 && e.type == 4 && e.count == 1) exif_ifd = t.u(e.data, 4);
  });
  if (!ok0) return std::nullopt;
  if (exif_ifd != 0) {
    walk_ifd(t, exif_ifd, [&](const Entry& e) {
      switch (e.tag) {
        case 0x920A: info.focal_mm = number(t, e); break;
        case 0xA405: info.focal_35mm = number(t, e); break;
        case 0xA20E: info.focal_plane_x_res = number(t, e); break;
        case 0xA210: info.focal_plane_unit = static_cast<int>(std::min(number(t, e), 1e9)); break;
        case 0xA002: info.pixel_x = static_cast<int>(std::min(number(t, e), 1e9)); break;
        case 0xA003: info.pixel_y = static_cast<int>(std::min(number(t, e), 1e9)); break;
        default: break;
      }
    });
  }
  return info;
}

std::optional<ExifInfo> parse_jpeg_exif(std::string_view j) {
  if (j.size() < 4 || static_cast<unsigned char>(j[0]) != 0xFF || static_cast<unsigned char>(j[1]) != 0xD8)
    return std::nullopt;
  size_t pos = 2;
  while (pos + 4 <= j.size()) {
    if (static_cast<unsigned char>(j[pos]) != 0xFF) return std::nullopt;
    const unsigned marker = static_cast<unsigned char>(j[pos + 1]);
    if (marker == 0xFF) { ++pos; continue; }  // fill byte
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // EOI / SOS: no EXIF before the scan
    const size_t len = (static_cast<unsigned char>(j[pos + 2]) << 8) | static_cast<unsigned char>(j[pos + 3]);
    if (len < 2 || pos + 2 + len > j.size()) return std::nullopt;
    const std::string_view seg = j.substr(pos + 4, len - 2);
    if (marker == 0xE1 && seg.substr(0, 6) == std::string_view("Exif\0\0", 6)) {
      if (auto e = parse_exif_tiff(seg.substr(6))) return e;
    }
    pos += 2 + len;
  }
  return std::nullopt;
}

std::optional<ExifInfo> read_exif(const std::filesystem::path& file) {
  std::ifstream is(file, std::ios::binary);
  if (!is) return std::nullopt;
  std::string head(1 << 20, '\0');  // APP segments sit at the start; 1 MiB bounds the read
  is.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(std::max<std::streamsize>(0, is.gcount())));
  return parse_jpeg_exif(head);
}

std::optional<ExifFocal> exif_focal_px(const ExifInfo& e, int width, int height) {
  const double max_size = std::max(width, height);
  if (e.focal_35mm > 0) return ExifFocal{e.focal_35mm / 35.0 * max_size, "exif35"};
  if (e.focal_mm <= 0 || e.pixel_x <= 0 || e.focal_plane_x_res <= 0) return std::nullopt;
  // sensor width = PixelXDimension / (pixels per unit), in the unit; COLMAP takes only inch and cm
  const double unit_mm = e.focal_plane_unit == 2 ? 25.4 : e.focal_plane_unit == 3 ? 10.0 : 0.0;
  if (unit_mm == 0) return std::nullopt;
  const double sensor_mm = e.pixel_x / e.focal_plane_x_res * unit_mm;
  return ExifFocal{e.focal_mm / sensor_mm * max_size, "exif"};
}

}  // namespace vg
