// Pixel-level helpers on decoded images (declared in io/image.h).
#include <cstring>

#include "core/error.h"
#include "io/image.h"

namespace vg {

Image to_rgb(const Image& img, const std::array<float, 3>& background) {
  VG_CHECK(img.channels >= 1 && img.channels <= 4, "to_rgb: image has ", img.channels, " channels");
  Image out{img.width, img.height, 3, {}};
  const size_t n = static_cast<size_t>(img.width) * img.height;
  out.pixels.resize(n * 3);
  const bool gray = img.channels <= 2, alpha = img.channels == 2 || img.channels == 4;
  for (size_t i = 0; i < n; ++i) {
    const float* p = img.pixels.data() + i * img.channels;
    const float a = alpha ? p[img.channels - 1] : 1.0f;
    for (int c = 0; c < 3; ++c) {
      const float v = gray ? p[0] : p[c];
      out.pixels[3 * i + c] = alpha ? v * a + background[c] * (1.0f - a) : v;
    }
  }
  return out;
}

Image resize_area(const Image& img, int factor) {
  VG_CHECK(factor >= 1, "resize_area: factor must be >= 1, got ", factor);
  if (factor == 1) return img;
  const int w = img.width / factor, h = img.height / factor, ch = img.channels;
  VG_CHECK(w > 0 && h > 0, "resize_area: ", img.width, "x", img.height, " is smaller than the factor ", factor);
  Image out{w, h, ch, std::vector<float>(static_cast<size_t>(w) * h * ch, 0.0f)};
  const double inv = 1.0 / (static_cast<double>(factor) * factor);
  std::vector<double> acc(static_cast<size_t>(ch));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int dy = 0; dy < factor; ++dy)
        for (int dx = 0; dx < factor; ++dx)
          for (int c = 0; c < ch; ++c) acc[static_cast<size_t>(c)] += img.at(y * factor + dy, x * factor + dx, c);
      for (int c = 0; c < ch; ++c) out.at(y, x, c) = static_cast<float>(acc[static_cast<size_t>(c)] * inv);
    }
  return out;
}

Tensor image_to_tensor(const Image& img) {
  VG_CHECK(img.pixels.size() == static_cast<size_t>(img.width) * img.height * img.channels,
           "image_to_tensor: pixel count does not match ", img.width, "x", img.height, "x", img.channels);
  Tensor t = Tensor::empty({img.height, img.width, img.channels});
  std::memcpy(t.data<float>(), img.pixels.data(), img.pixels.size() * sizeof(float));
  return t;
}

}  // namespace vg
