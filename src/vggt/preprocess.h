// Image preprocessing exactly as the official vggt/utils/load_fn.py, two modes:
// - "square" (load_and_preprocess_images_square + demo_colmap.py): RGBA is composited over white, the image is
//   centred on a black square (max side), resized with PIL's 8-bit antialiased bicubic to `load_size` (1024: the
//   tracking / BA coordinate frame), then F.interpolate(bilinear, align_corners=False) to `model_size` (518).
// - "crop" (load_and_preprocess_images(mode="crop")): RGBA over white, width -> target (518), height ->
//   round(h * target / w / 14) * 14 (Python's round: half to even), PIL bicubic straight to that size, the height
//   centre-cropped to target when larger; images of different shapes are padded, centred, with 1.0 to the largest.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vg::vggt {

// original_coords [N, 6] = x1, y1, x2, y2, width, height: where the photo's pixel edges land (left, top, right,
// bottom; photo x in [0, width] maps linearly onto [x1, x2], y onto [y1, y2]) and the photo's size.
// square: x1..y2 in load_size pixels (the official array). crop: in images_model pixels, x1 = 0 (the width is
// the target), y1 = pad top - crop start (negative when the height was cropped), x2 = target, y2 = y1 + the
// resized height (> H when cropped); each axis has its own scale since the height is rounded to 14 pixels.
struct PreprocessedImages {
  Tensor images_load;      // square: [N, 3, load_size, load_size], 8-bit values / 255; crop: undefined
  Tensor images_model;     // square: [N, 3, model_size, model_size]; crop: [N, 3, H <= target, target]
  Tensor original_coords;  // [N, 6], see above
  std::string resize = "square";  // "square" | "crop": the frame of original_coords
};

PreprocessedImages load_and_preprocess_square(const std::vector<std::filesystem::path>& paths, int load_size = 1024,
                                              int model_size = 518);

// load_and_preprocess_images(paths, mode="crop"), target_size as a parameter (official: 518); resize = "crop".
PreprocessedImages load_and_preprocess_crop(const std::vector<std::filesystem::path>& paths, int target_size = 518);

// The crop mode's resized height before the crop: round(height * (target / width) / 14) * 14, half to even.
int crop_resize_height(int width, int height, int target_size = 518);

// PIL Image.resize(..., BICUBIC) on 8-bit interleaved pixels (h x w x channels): separable, horizontal pass
// first, 22-bit fixed-point coefficients, each pass rounded and clipped to 8 bits (Pillow's Resample.c).
std::vector<uint8_t> pil_resize_bicubic(const std::vector<uint8_t>& src, int w, int h, int channels, int out_w,
                                        int out_h);

}  // namespace vg::vggt
