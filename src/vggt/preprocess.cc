#include "vggt/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "io/image.h"
#include "vggt/cpu_ops.h"

namespace vg::vggt {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

// normalize_coeffs_8bpc: double weights -> fixed point, rounded half away from zero.
std::vector<int32_t> fixed_coeffs(const ops::ResampleWeights& r) {
  std::vector<int32_t> k(r.w.size());
  for (size_t i = 0; i < r.w.size(); ++i) {
    const double v = r.w[i] * (1 << kPrecisionBits);
    k[i] = static_cast<int32_t>(v < 0 ? -0.5 + v : 0.5 + v);
  }
  return k;
}

uint8_t clip8(int32_t ss) { return static_cast<uint8_t>(std::clamp(ss >> kPrecisionBits, 0, 255)); }

// One 8-bit resampling pass along a strided axis.
void resample_pass(const uint8_t* in, uint8_t* out, int lines, int in_len, int out_len, int channels, bool along_x) {
  const ops::ResampleWeights r = ops::bicubic_aa_weights(in_len, out_len);
  const std::vector<int32_t> k = fixed_coeffs(r);
  parallel_for(
      lines,
      [&](int64_t l0, int64_t l1) {
        for (int64_t l = l0; l < l1; ++l)
          for (int o = 0; o < out_len; ++o)
            for (int c = 0; c < channels; ++c) {
              int32_t ss = 1 << (kPrecisionBits - 1);
              for (int64_t t = 0; t < r.taps[o]; ++t) {
                const int64_t i = r.first[o] + t;
                const uint8_t v = along_x ? in[(l * in_len + i) * channels + c] : in[(i * lines + l) * channels + c];
                ss += v * k[o * r.max_taps + t];
              }
              (along_x ? out[(l * out_len + o) * channels + c] : out[(static_cast<int64_t>(o) * lines + l) * channels + c]) =
                  clip8(ss);
            }
      },
      4);
}

// PIL's Image.open + (RGBA over white) + convert("RGB") as 8-bit interleaved pixels; gray+alpha drops the alpha.
std::vector<uint8_t> load_rgb8(const std::filesystem::path& path, int& width, int& height) {
  const Image img = read_image(path);
  const Image rgb = img.channels == 4 ? to_rgb(img, {1.0f, 1.0f, 1.0f}) : img.channels == 2 ? Image{} : to_rgb(img);
  width = img.width, height = img.height;
  std::vector<uint8_t> out(static_cast<size_t>(width) * height * 3);
  for (size_t p = 0; p < out.size() / 3; ++p)
    for (int c = 0; c < 3; ++c) {
      const float v = img.channels == 2 ? img.pixels[p * 2] : rgb.pixels[p * 3 + c];
      out[p * 3 + c] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
    }
  return out;
}

// ToTensor: 8-bit HWC rows [y0, y0 + rows) -> float CHW / 255 into dst (its plane stride `plane`).
void to_chw(const uint8_t* src, int w, int y0, int rows, float* dst, int64_t plane) {
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        dst[c * plane + static_cast<int64_t>(y) * w + x] =
            src[((static_cast<size_t>(y0) + y) * w + x) * 3 + c] / 255.0f;
}

}  // namespace

std::vector<uint8_t> pil_resize_bicubic(const std::vector<uint8_t>& src, int w, int h, int channels, int out_w,
                                        int out_h) {
  VG_CHECK(static_cast<int64_t>(src.size()) == static_cast<int64_t>(w) * h * channels && out_w > 0 && out_h > 0,
           "pil_resize_bicubic: bad sizes");
  std::vector<uint8_t> tmp(static_cast<size_t>(out_w) * h * channels);
  resample_pass(src.data(), tmp.data(), h, w, out_w, channels, true);
  std::vector<uint8_t> out(static_cast<size_t>(out_w) * out_h * channels);
  resample_pass(tmp.data(), out.data(), out_w, h, out_h, channels, false);
  return out;
}

PreprocessedImages load_and_preprocess_square(const std::vector<std::filesystem::path>& paths, int load_size,
                                              int model_size) {
  VG_CHECK(!paths.empty(), "VGGT preprocessing: at least 1 image is required");
  const int64_t N = static_cast<int64_t>(paths.size());
  PreprocessedImages out;
  out.images_load = Tensor::empty({N, 3, load_size, load_size});
  out.images_model = Tensor::empty({N, 3, model_size, model_size});
  out.original_coords = Tensor::empty({N, 6});
  for (int64_t n = 0; n < N; ++n) {
    int width = 0, height = 0;
    const std::vector<uint8_t> rgb = load_rgb8(paths[n], width, height);
    const int max_dim = std::max(width, height);
    const int left = (max_dim - width) / 2, top = (max_dim - height) / 2;
    const double scale = static_cast<double>(load_size) / max_dim;
    const float coords[6] = {static_cast<float>(left * scale), static_cast<float>(top * scale),
                             static_cast<float>((left + width) * scale), static_cast<float>((top + height) * scale),
                             static_cast<float>(width), static_cast<float>(height)};
    std::memcpy(out.original_coords.data<float>() + n * 6, coords, sizeof(coords));
    std::vector<uint8_t> square(static_cast<size_t>(max_dim) * max_dim * 3, 0);
    for (int y = 0; y < height; ++y)
      std::memcpy(&square[((static_cast<size_t>(y) + top) * max_dim + left) * 3],
                  &rgb[static_cast<size_t>(y) * width * 3], static_cast<size_t>(width) * 3);
    const std::vector<uint8_t> resized = pil_resize_bicubic(square, max_dim, max_dim, 3, load_size, load_size);
    const int64_t hw = static_cast<int64_t>(load_size) * load_size;
    float* d = out.images_load.data<float>() + n * 3 * hw;
    to_chw(resized.data(), load_size, 0, load_size, d, hw);
    Tensor chw = Tensor::empty({3, load_size, load_size});
    std::memcpy(chw.data<float>(), d, 3 * hw * sizeof(float));
    Tensor small = ops::interpolate_bilinear(chw, model_size, model_size, false);
    std::memcpy(out.images_model.data<float>() + n * small.numel(), small.data<float>(), small.nbytes());
  }
  return out;
}

int crop_resize_height(int width, int height, int target_size) {
  VG_CHECK(width > 0 && height > 0 && target_size > 0, "crop_resize_height: sizes must be positive");
  // Python float arithmetic, then round(): ties to even (std::nearbyint in the default rounding mode).
  const double q = static_cast<double>(height) * (static_cast<double>(target_size) / width) / 14.0;
  return static_cast<int>(std::nearbyint(q)) * 14;
}

PreprocessedImages load_and_preprocess_crop(const std::vector<std::filesystem::path>& paths, int target_size) {
  VG_CHECK(!paths.empty(), "VGGT preprocessing: at least 1 image is required");
  VG_CHECK(target_size > 0 && target_size % 14 == 0, "VGGT crop preprocessing: the target size ", target_size,
           " is not a positive multiple of 14");
  const int64_t N = static_cast<int64_t>(paths.size());
  std::vector<std::vector<uint8_t>> resized(N);
  std::vector<int> new_h(N), start(N), rows(N), sizes(2 * N);
  int max_h = 0;  // every width is target_size: only the heights can differ
  for (int64_t n = 0; n < N; ++n) {
    const std::vector<uint8_t> rgb = load_rgb8(paths[n], sizes[2 * n], sizes[2 * n + 1]);
    new_h[n] = crop_resize_height(sizes[2 * n], sizes[2 * n + 1], target_size);
    VG_CHECK(new_h[n] > 0, "VGGT crop preprocessing: ", paths[n].filename().string(), " (", sizes[2 * n], "x",
             sizes[2 * n + 1], ") is too wide: its height at width ", target_size, " rounds to 0");
    resized[n] = pil_resize_bicubic(rgb, sizes[2 * n], sizes[2 * n + 1], 3, target_size, new_h[n]);
    start[n] = new_h[n] > target_size ? (new_h[n] - target_size) / 2 : 0;  // centre crop
    rows[n] = std::min(new_h[n], target_size);
    max_h = std::max(max_h, rows[n]);
  }
  PreprocessedImages out;
  out.resize = "crop";
  out.images_model = Tensor::full({N, 3, max_h, target_size}, 1.0f);  // padding is white (1.0)
  out.original_coords = Tensor::empty({N, 6});
  const int64_t plane = static_cast<int64_t>(max_h) * target_size;
  for (int64_t n = 0; n < N; ++n) {
    const int pad_top = (max_h - rows[n]) / 2;
    to_chw(resized[n].data(), target_size, start[n], rows[n],
           out.images_model.data<float>() + n * 3 * plane + static_cast<int64_t>(pad_top) * target_size, plane);
    const float y1 = static_cast<float>(pad_top - start[n]);
    const float coords[6] = {0.0f, y1, static_cast<float>(target_size), y1 + static_cast<float>(new_h[n]),
                             static_cast<float>(sizes[2 * n]), static_cast<float>(sizes[2 * n + 1])};
    std::memcpy(out.original_coords.data<float>() + n * 6, coords, sizeof(coords));
  }
  return out;
}

}  // namespace vg::vggt
