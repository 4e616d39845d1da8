// Test helper: the EXIF APP1 segment of a camera (make, model, focal length, 35 mm focal, focal-plane
// resolution), little-endian TIFF written here, spliced after the SOI marker of a JPEG (written by
// io/jpeg_write.h or an existing file).
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/jpeg_write.h"

namespace vg::test {

struct ExifFields {
  std::string make, model;
  uint32_t focal_mm_x100 = 0;     // FocalLength as the RATIONAL n/100; 0: absent
  uint16_t focal_35mm = 0;        // FocalLengthIn35mmFilm; 0: absent
  uint32_t plane_x_res_x100 = 0;  // FocalPlaneXResolution as n/100 pixels per unit; 0: absent
  uint16_t plane_unit = 0;        // FocalPlaneResolutionUnit: 2 inch, 3 cm
  uint32_t pixel_x = 0;           // PixelXDimension; 0: absent
};

// "Exif\0\0" + TIFF (II): IFD0 {Make, Model, ExifIFD pointer}, Exif IFD of the fields given.
inline std::string exif_app1_payload(const ExifFields& f) {
  struct Tag { uint16_t tag, type; uint32_t count; std::string data; };
  auto le = [](uint32_t v, int n) { std::string s; for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(v >> (8 * i))); return s; };
  std::vector<Tag> ifd0, exif;
  if (!f.make.empty()) ifd0.push_back({0x010F, 2, static_cast<uint32_t>(f.make.size() + 1), f.make + '\0'});
  if (!f.model.empty()) ifd0.push_back({0x0110, 2, static_cast<uint32_t>(f.model.size() + 1), f.model + '\0'});
  ifd0.push_back({0x8769, 4, 1, ""});
  if (f.focal_mm_x100) exif.push_back({0x920A, 5, 1, le(f.focal_mm_x100, 4) + le(100, 4)});
  if (f.pixel_x) exif.push_back({0xA002, 4, 1, le(f.pixel_x, 4)});
  if (f.plane_x_res_x100) exif.push_back({0xA20E, 5, 1, le(f.plane_x_res_x100, 4) + le(100, 4)});
  if (f.plane_unit) exif.push_back({0xA210, 3, 1, le(f.plane_unit, 2)});
  if (f.focal_35mm) exif.push_back({0xA405, 3, 1, le(f.focal_35mm, 2)});
  const uint32_t ifd0_off = 8, exif_off = ifd0_off + 2 + 12 * static_cast<uint32_t>(ifd0.size()) + 4;
  const uint32_t data_off = exif_off + 2 + 12 * static_cast<uint32_t>(exif.size()) + 4;
  std::string out = "II" + le(42, 2) + le(ifd0_off, 4), blob;
  auto write_ifd = [&](const std::vector<Tag>& tags) {
    out += le(static_cast<uint32_t>(tags.size()), 2);
    for (const Tag& t : tags) {
      out += le(t.tag, 2) + le(t.type, 2) + le(t.count, 4);
      if (t.tag == 0x8769) out += le(exif_off, 4);
      else if (t.data.size() <= 4) out += t.data + std::string(4 - t.data.size(), '\0');
      else out += le(data_off + static_cast<uint32_t>(blob.size()), 4), blob += t.data;
    }
    out += le(0, 4);
  };
  write_ifd(ifd0);
  write_ifd(exif);
  return std::string("Exif\0\0", 6) + out + blob;
}

// Inserts the APP1 segment of `f` after SOI of the JPEG at `path` (rewritten in place).
inline void add_exif(const std::filesystem::path& path, const ExifFields& f) {
  std::ifstream is(path, std::ios::binary);
  std::stringstream ss;
  ss << is.rdbuf();
  std::string j = ss.str();
  const std::string payload = exif_app1_payload(f);
  const size_t len = payload.size() + 2;
  std::string seg = "\xFF\xE1";
  seg += static_cast<char>(len >> 8), seg += static_cast<char>(len & 0xFF);
  j.insert(2, seg + payload);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << j;
}

// A grey-gradient JPEG of width x height with the EXIF of `f` (no EXIF when f.make and f.model are empty and
// no focal is given).
inline void write_jpeg_with_exif(const std::filesystem::path& path, int width, int height, const ExifFields& f) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i / 3) % 251);
  write_jpeg(path, rgb.data(), width, height);
  if (!f.make.empty() || !f.model.empty() || f.focal_mm_x100 || f.focal_35mm) add_exif(path, f);
}

}  // namespace vg::test
