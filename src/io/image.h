// 8/16-bit image files (PNG via libpng, JPEG via libjpeg) decoded to float pixels in [0,1].
// The format is decided by the file's magic bytes, never by its extension.
#pragma once
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vg {

struct Image {
  int width = 0, height = 0, channels = 0;  // channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  std::vector<float> pixels;                // HWC, row-major, [0,1]
  float& at(int y, int x, int c) { return pixels[(static_cast<size_t>(y) * width + x) * channels + c]; }
  float at(int y, int x, int c) const { return pixels[(static_cast<size_t>(y) * width + x) * channels + c]; }
};

struct ImageInfo {
  int width = 0, height = 0, channels = 0;
};

// How a JPEG is decoded. kAccurate: libjpeg's defaults (exact integer IDCT, "fancy" chroma upsampling).
// kFast: libjpeg's fast integer IDCT (JDCT_IFAST) and plain chroma replication: what FreeImage's default
// JPEG load does, hence the pixels COLMAP's feature extractor sees (its SIFT keypoints are reproduced exactly
// only from these; the two decodes differ by about one grey level at many pixels).
enum class JpegDecode { kAccurate, kFast };

// Decodes a PNG (1/2/4/8/16-bit, gray, gray+alpha, RGB, RGBA, palette) or JPEG (gray, RGB, CMYK->RGB).
// Throws vg::Error "cannot decode <path>: <reason>" for unknown, truncated or corrupt files.
Image read_image(const std::filesystem::path& path, JpegDecode jpeg = JpegDecode::kAccurate);
// Reads only the header (cheap validation of a dataset): size and channel count after decoding.
ImageInfo read_image_info(const std::filesystem::path& path);
// Writes an 8-bit PNG (1..4 channels as stored), atomically; values are clamped to [0,1] and rounded.
void write_png(const std::filesystem::path& path, const Image& img);
// The same PNG encoding, in memory.
std::string png_bytes(const Image& img);

// RGB image: gray is replicated, alpha is composited over `background` (c*a + bg*(1-a)).
Image to_rgb(const Image& img, const std::array<float, 3>& background = {0, 0, 0});
// Integer box (area) downscale: each output pixel is the mean of a factor x factor block
// (cv2 INTER_AREA for integer factors); the output is floor(W/f) x floor(H/f).
Image resize_area(const Image& img, int factor);
// F32 [H,W,C] on the CPU (C = img.channels; call to_rgb first for [H,W,3]).
Tensor image_to_tensor(const Image& img);

}  // namespace vg
