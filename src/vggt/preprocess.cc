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
    Image img = read_image(paths[n]);
    // PIL: RGBA over white; convert("RGB") drops the alpha of gray+alpha and replicates gray.
    Image rgb = img.channels == 4 ? to_rgb(img, {1.0f, 1.0f, 1.0f}) : img.channels == 2 ? Image{} : to_rgb(img);
    if (img.channels == 2) {
      rgb.width = img.width, rgb.height = img.height, rgb.channels = 3;
      rgb.pixels.resize(static_cast<size_t>(img.width) * img.height * 3);
      for (size_t p = 0; p < rgb.pixels.size() / 3; ++p)
        for (int c = 0; c < 3; ++c) rgb.pixels[p * 3 + c] = img.pixels[p * 2];
    }
    const int width = rgb.width, height = rgb.height, max_dim = std::max(width, height);
    const int left = (max_dim - width) / 2, top = (max_dim - height) / 2;
    const double scale = static_cast<double>(load_size) / max_dim;
    const float coords[6] = {static_cast<float>(left * scale), static_cast<float>(top * scale),
                             static_cast<float>((left + width) * scale), static_cast<float>((top + height) * scale),
                             static_cast<float>(width), static_cast<float>(height)};
    std::memcpy(out.original_coords.data<float>() + n * 6, coords, sizeof(coords));
    std::vector<uint8_t> square(static_cast<size_t>(max_dim) * max_dim * 3, 0);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int c = 0; c < 3; ++c)
          square[((static_cast<size_t>(y) + top) * max_dim + x + left) * 3 + c] =
              static_cast<uint8_t>(std::lround(std::clamp(rgb.at(y, x, c), 0.0f, 1.0f) * 255.0f));
    const std::vector<uint8_t> resized = pil_resize_bicubic(square, max_dim, max_dim, 3, load_size, load_size);
    Tensor chw = Tensor::empty({3, load_size, load_size});
    float* d = chw.data<float>();
    const int64_t hw = static_cast<int64_t>(load_size) * load_size;
    for (int64_t p = 0; p < hw; ++p)
      for (int c = 0; c < 3; ++c) d[c * hw + p] = resized[p * 3 + c] / 255.0f;
    std::memcpy(out.images_load.data<float>() + n * 3 * hw, d, 3 * hw * sizeof(float));
    Tensor small = ops::interpolate_bilinear(chw, model_size, model_size, false);
    std::memcpy(out.images_model.data<float>() + n * small.numel(), small.data<float>(), small.nbytes());
  }
  return out;
}

}  // namespace vg::vggt
