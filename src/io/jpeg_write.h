// Writes 8-bit RGB as a baseline JPEG through libjpeg (high quality by default).
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

namespace vg {

// `rgb` is [height * width * 3], row-major. chroma_420: half-resolution chroma (libjpeg's default, what
// `ffmpeg -q:v 2` writes; no loss for frames of a 4:2:0 video), else full-resolution 4:4:4.
// Atomic (temp file, then rename). Throws vg::Error naming the file.
void write_jpeg(const std::filesystem::path& path, const uint8_t* rgb, int width, int height, int quality = 95,
                bool chroma_420 = false);

}  // namespace vg
