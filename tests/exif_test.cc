// EXIF reader: TIFF written here (II and MM), inserted after SOI of a JPEG from io/jpeg_write.h.
#include "io/exif.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "io/jpeg_write.h"

namespace vg {
namespace {

struct TiffWriter {
  bool be;
  std::string out;
  void u(uint32_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<char>(v >> (8 * (be ? n - 1 - i : i))));
  }
};

struct Tag { uint16_t tag, type; uint32_t count; std::string data; };  // data: the value bytes (any length)

// TIFF with IFD0 {Make, Model, ExifIFD} and an Exif IFD of `exif` tags; values > 4 bytes after the IFDs.
std::string tiff(bool be, const std::vector<Tag>& ifd0_extra, const std::vector<Tag>& exif) {
  std::vector<Tag> ifd0 = ifd0_extra;
  ifd0.push_back({0x8769, 4, 1, ""});  // offset patched below
  const uint32_t ifd0_off = 8, ifd0_size = 2 + 12 * ifd0.size() + 4;
  const uint32_t exif_off = ifd0_off + ifd0_size, exif_size = 2 + 12 * exif.size() + 4;
  uint32_t data_off = exif_off + exif_size;
  TiffWriter w{be, be ? "MM" : "II"};
  w.u(42, 2), w.u(ifd0_off, 4);
  std::string blob;
  auto write_ifd = [&](const std::vector<Tag>& tags) {
    w.u(static_cast<uint32_t>(tags.size()), 2);
    for (const Tag& t : tags) {
      w.u(t.tag, 2), w.u(t.type, 2), w.u(t.count, 4);
      if (t.tag == 0x8769) { w.u(exif_off, 4); continue; }
      if (t.data.size() <= 4) { w.out += t.data + std::string(4 - t.data.size(), '\0'); continue; }
      w.u(data_off + static_cast<uint32_t>(blob.size()), 4);
      blob += t.data;
    }
    w.u(0, 4);
  };
  write_ifd(ifd0);
  write_ifd(exif);
  return w.out + blob;
}

std::string bytes(bool be, uint32_t v, int n) { TiffWriter w{be, ""}; w.u(v, n); return w.out; }
Tag ascii(uint16_t tag, const std::string& s) { return {tag, 2, static_cast<uint32_t>(s.size() + 1), s + '\0'}; }
Tag rational(bool be, uint16_t tag, uint32_t num, uint32_t den) { return {tag, 5, 1, bytes(be, num, 4) + bytes(be, den, 4)}; }
Tag shrt(bool be, uint16_t tag, uint16_t v) { return {tag, 3, 1, bytes(be, v, 2)}; }
Tag lng(bool be, uint16_t tag, uint32_t v) { return {tag, 4, 1, bytes(be, v, 4)}; }

std::string read_all(const std::filesystem::path& p) {
  std::ifstream is(p, std::ios::binary);
  std::stringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

// A small JPEG with the APP1 segment of `tiff_bytes` after SOI, written to `path`.
std::filesystem::path jpeg_with_exif(const std::string& name, const std::string& tiff_bytes) {
  const auto path = std::filesystem::path(::testing::TempDir()) / name;
  std::vector<uint8_t> rgb(16 * 8 * 3, 128);
  write_jpeg(path, rgb.data(), 16, 8);
  std::string j = read_all(path);
  const std::string payload = std::string("Exif\0\0", 6) + tiff_bytes;
  const size_t len = payload.size() + 2;
  std::string seg = "\xFF\xE1";
  seg += static_cast<char>(len >> 8), seg += static_cast<char>(len & 0xFF);
  j.insert(2, seg + payload);
  std::ofstream(path, std::ios::binary) << j;
  return path;
}

class ExifEndian : public ::testing::TestWithParam<bool> {};

TEST_P(ExifEndian, Focal35mm) {
  const bool be = GetParam();
  const auto p = jpeg_with_exif(be ? "mm35.jpg" : "ii35.jpg",
                                tiff(be, {ascii(0x010F, "Canon"), ascii(0x0110, "EOS 5D")},
                                     {rational(be, 0x920A, 240, 10), shrt(be, 0xA405, 35)}));
  const auto e = read_exif(p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->make, "Canon");
  EXPECT_EQ(e->model, "EOS 5D");
  EXPECT_DOUBLE_EQ(e->focal_mm, 24.0);
  EXPECT_DOUBLE_EQ(e->focal_35mm, 35.0);
  const auto f = exif_focal_px(*e, 3000, 2000);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->source, "exif35");
  EXPECT_DOUBLE_EQ(f->focal_px, 3000.0);  // 35 / 35 * max(W, H)
}

TEST_P(ExifEndian, FocalPlaneResolution) {
  const bool be = GetParam();
  // 6000 px over 6000/(36 mm) px per... : 4000 px per inch -> 6000 px = 1.5 in = 38.1 mm sensor
  const auto p = jpeg_with_exif(be ? "mmfp.jpg" : "iifp.jpg",
                                tiff(be, {ascii(0x010F, "X")},
                                     {rational(be, 0x920A, 381, 10), rational(be, 0xA20E, 4000, 1),
                                      shrt(be, 0xA210, 2), lng(be, 0xA002, 6000), lng(be, 0xA003, 4000)}));
  const auto e = read_exif(p);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pixel_x, 6000);
  EXPECT_EQ(e->pixel_y, 4000);
  const auto f = exif_focal_px(*e, 1500, 1000);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->source, "exif");
  EXPECT_NEAR(f->focal_px, 1500.0, 1e-9);  // focal = sensor width -> focal_px = max(W, H)
}

INSTANTIATE_TEST_SUITE_P(Endian, ExifEndian, ::testing::Values(false, true));

TEST(Exif, NoPriorWithoutFocal) {
  ExifInfo e;
  e.make = "X";
  EXPECT_FALSE(exif_focal_px(e, 100, 50));
  e.focal_mm = 5;  // no focal plane resolution: no prior (no camera database)
  EXPECT_FALSE(exif_focal_px(e, 100, 50));
}

TEST(Exif, TruncatedAndGarbageGiveNothing) {
  const std::string good = tiff(false, {ascii(0x010F, "Canon")}, {shrt(false, 0xA405, 50)});
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_NO_THROW(parse_exif_tiff(good.substr(0, n)));
    const auto p = jpeg_with_exif("trunc.jpg", good.substr(0, n));
    EXPECT_NO_THROW({
      auto e = read_exif(p);
      if (e && n < 52) EXPECT_EQ(e->focal_35mm, 0.0);  // the Exif IFD entry ends at byte 52: cut before, no focal
    });
  }
  std::string garbage(200, '\xAB');
  EXPECT_FALSE(parse_exif_tiff(garbage));
  EXPECT_FALSE(parse_jpeg_exif(garbage));
  EXPECT_FALSE(parse_jpeg_exif(std::string("\xFF\xD8\xFF\xE1\xFF\xFF", 6)));  // segment longer than the file
  EXPECT_FALSE(read_exif(std::filesystem::path(::testing::TempDir()) / "missing.jpg"));
}

}  // namespace
}  // namespace vg
