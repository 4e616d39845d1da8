// Image preprocessing exactly as the official load_and_preprocess_images_square (vggt/utils/load_fn.py) and
// demo_colmap.py: RGBA is composited over white, the image is centred on a black square (max side), resized
// with PIL's 8-bit antialiased bicubic to `load_size` (1024: the tracking / BA coordinate frame), then
// F.interpolate(bilinear, align_corners=False) to `model_size` (518) for the network.
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/tensor.h"

namespace vg::vggt {

struct PreprocessedImages {
  Tensor images_load;      // [N, 3, load_size, load_size], 8-bit values / 255
  Tensor images_model;     // [N, 3, model_size, model_size]
  Tensor original_coords;  // [N, 6]: x1, y1, x2, y2 of the original image in load_size pixels, width, height
};

PreprocessedImages load_and_preprocess_square(const std::vector<std::filesystem::path>& paths, int load_size = 1024,
                                              int model_size = 518);

// PIL Image.resize(..., BICUBIC) on 8-bit interleaved pixels (h x w x channels): separable, horizontal pass
// first, 22-bit fixed-point coefficients, each pass rounded and clipped to 8 bits (Pillow's Resample.c).
std::vector<uint8_t> pil_resize_bicubic(const std::vector<uint8_t>& src, int w, int h, int channels, int out_w,
                                        int out_h);

}  // namespace vg::vggt
