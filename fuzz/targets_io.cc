// Fuzz targets of the dataset parsers: images, COLMAP models, transforms.json, Strecha .camera files, .npy
// and LLFF scenes.
#include "core/error.h"
#include "fuzz/targets.h"
#include "io/colmap.h"
#include "io/dataset_sources.h"
#include "io/exif.h"
#include "io/image.h"
#include "io/npy.h"
#include "io/strecha.h"
#include "io/transforms.h"

namespace vg::fuzz {

namespace fs = std::filesystem;

// PNG or JPEG (by magic bytes): the header-only read, then a full decode (selector bit 0: libjpeg's fast IDCT).
void image(std::string_view bytes) {
  const unsigned char s = selector(bytes);
  const fs::path p = scratch_file("image", bytes);
  const ImageInfo info = read_image_info(p);
  // A JPEG header may claim up to 65500 x 65500 pixels in a few bytes and libjpeg fills what the data lacks, so
  // the decode allocates by the header: that is libjpeg's contract, not a parser bug; large ones are skipped here.
  const bool png = !bytes.empty() && static_cast<unsigned char>(bytes[0]) == 0x89;
  if (!png && int64_t{info.width} * info.height > (int64_t{1} << 22)) return;
  const Image img = read_image(p, (s & 1) ? JpegDecode::kFast : JpegDecode::kAccurate);
  VG_CHECK(img.width == info.width && img.height == info.height, "fuzz: header and decode disagree");
}

namespace {

// The selector picks which of the three model files gets the bytes; the other two are empty models.
fs::path colmap_model(std::string_view bytes, const char* ext, const std::string& empty) {
  const unsigned char s = selector(bytes) % 3;
  const fs::path dir = scratch_dir() / (std::string("colmap_") + (ext + 1));
  fs::create_directories(dir);
  const char* names[3] = {"cameras", "images", "points3D"};
  for (int i = 0; i < 3; ++i)
    scratch_file(fs::path(dir.filename()) / (std::string(names[i]) + ext), i == s ? bytes : std::string_view(empty));
  return dir;
}

}  // namespace

void colmap_bin(std::string_view bytes) {
  read_colmap_bin(colmap_model(bytes, ".bin", std::string(8, '\0')));
}

void colmap_txt(std::string_view bytes) {
  read_colmap_txt(colmap_model(bytes, ".txt", ""));
}

// transforms.json beside one 2x2 PNG "img.png" (frames may name it with or without the extension).
void transforms(std::string_view bytes) {
  static const bool image_written = [] {
    Image img;
    img.width = img.height = 2, img.channels = 3;
    img.pixels.assign(12, 0.5f);
    scratch_file("img.png", png_bytes(img));
    return true;
  }();
  (void)image_written;
  read_transforms(scratch_file("transforms.json", bytes));
}

void strecha(std::string_view bytes) {
  read_strecha_camera(scratch_file("0000.jpg.camera", bytes));
}

// Selector bit 0 clear: the .npy parser on the bytes; set: the bytes as the poses_bounds.npy of an LLFF scene
// whose images/ holds two 4x3 PNGs (0.png, 1.png), read as a dataset source.
void npy(std::string_view bytes) {
  if (!(selector(bytes) & 1)) {
    parse_npy(bytes, "fuzz.npy");
    return;
  }
  static const bool images_written = [] {
    fs::create_directories(scratch_dir() / "llff" / "images");
    Image img;
    img.width = 4, img.height = 3, img.channels = 3;
    img.pixels.assign(36, 0.5f);
    for (const char* name : {"0.png", "1.png"}) scratch_file(fs::path("llff") / "images" / name, png_bytes(img));
    return true;
  }();
  (void)images_written;
  scratch_file(fs::path("llff") / "poses_bounds.npy", bytes);
  detail::read_scene(scratch_dir() / "llff");
}

// JPEG markers -> APP1 EXIF -> TIFF IFDs, then the focal prior; bad bytes must give nullopt, never a throw.
void exif(std::string_view bytes) {
  const unsigned char s = selector(bytes);
  const auto e = (s & 1) ? parse_exif_tiff(bytes) : parse_jpeg_exif(bytes);
  if (e) (void)exif_focal_px(*e, 1 + (s >> 1), 64);
}

}  // namespace vg::fuzz
