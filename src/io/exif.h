// EXIF camera fields of a JPEG (APP1 "Exif\0\0", TIFF II/MM, IFD0 -> ExifIFD 0x8769), own bounded parser.
// Malformed or absent EXIF yields std::nullopt; nothing here throws on bad bytes or reads out of bounds.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace vg {

struct ExifInfo {
  std::string make, model;        // IFD0 0x010F, 0x0110 (trailing NULs/spaces trimmed)
  double focal_mm = 0;            // 0x920A FocalLength (RATIONAL), 0: absent
  double focal_35mm = 0;          // 0xA405 FocalLengthIn35mmFilm (SHORT), 0: absent
  double focal_plane_x_res = 0;   // 0xA20E FocalPlaneXResolution (pixels per unit), 0: absent
  int focal_plane_unit = 0;       // 0xA210: 2 inch, 3 cm, 0 absent
  int pixel_x = 0, pixel_y = 0;   // 0xA002 / 0xA003 PixelXDimension / PixelYDimension
};

// From the JPEG bytes (markers walked up to SOS); nullopt when there is no usable EXIF segment.
std::optional<ExifInfo> parse_jpeg_exif(std::string_view jpeg);
// From the TIFF payload of the APP1 segment (after "Exif\0\0").
std::optional<ExifInfo> parse_exif_tiff(std::string_view tiff);
// Reads the head of a file (non-JPEG or unreadable: nullopt).
std::optional<ExifInfo> read_exif(const std::filesystem::path& file);

// Focal prior in pixels for an image of width x height, as COLMAP's Bitmap::ExifFocalLength: 35 mm equivalent
// first ("exif35"), else FocalLength with the sensor width from FocalPlaneXResolution ("exif"); nullopt: none.
struct ExifFocal {
  double focal_px = 0;
  std::string source;  // "exif35" | "exif"
};
std::optional<ExifFocal> exif_focal_px(const ExifInfo& e, int width, int height);

}  // namespace vg
