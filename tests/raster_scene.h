// Random projected-Gaussian scenes for the rasterizer tests, backend-op cases and benchmarks:
// anisotropic 2D Gaussians with exact conics and per-axis radii at 3.5 sigma (beyond which
// alpha < 1/255 for any opacity <= 0.99), positive depths, a few culled (radii 0).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/tensor.h"

namespace vg::test {

struct SceneSpec {
  int n = 20;
  int width = 24, height = 20;
  float min_scale = 1.0f, max_scale = 4.0f;  // std-devs (px) along the principal axes
  float min_opacity = 0.1f, max_opacity = 0.9f;
  float margin = 4.0f;       // means drawn in [-margin, W + margin] x [-margin, H + margin]
  float culled_fraction = 0.05f;
  std::array<float, 3> background = {0.f, 0.f, 0.f};
  uint32_t seed = 1;
};

struct RasterScene {
  Tensor means2d, conics, colors, opacities, depths, radii;
  int width = 0, height = 0;
  std::array<float, 3> background{};
};

inline RasterScene make_scene(const SceneSpec& s, Device d = Device::cpu()) {
  std::mt19937 rng(s.seed);
  auto u = [&](float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
  const size_t n = static_cast<size_t>(s.n);
  std::vector<float> xy(2 * n), conic(3 * n), rgb(3 * n), opac(n), depth(n);
  std::vector<int32_t> radii(2 * n);
  for (size_t g = 0; g < n; ++g) {
    xy[2 * g] = u(-s.margin, s.width + s.margin);
    xy[2 * g + 1] = u(-s.margin, s.height + s.margin);
    const double s1 = u(s.min_scale, s.max_scale), s2 = u(s.min_scale, s.max_scale), th = u(0.f, 3.14159265f);
    const double c = std::cos(th), sn = std::sin(th);
    // cov = R diag(s1^2, s2^2) R^T; conic = cov^{-1}
    const double A = c * c * s1 * s1 + sn * sn * s2 * s2, B = c * sn * (s1 * s1 - s2 * s2),
                 C = sn * sn * s1 * s1 + c * c * s2 * s2;
    const double det = A * C - B * B;
    conic[3 * g] = static_cast<float>(C / det);
    conic[3 * g + 1] = static_cast<float>(-B / det);
    conic[3 * g + 2] = static_cast<float>(A / det);
    const bool culled = u(0.f, 1.f) < s.culled_fraction;
    radii[2 * g] = culled ? 0 : static_cast<int32_t>(std::ceil(3.5 * std::sqrt(A)));
    radii[2 * g + 1] = culled ? 0 : static_cast<int32_t>(std::ceil(3.5 * std::sqrt(C)));
    for (int k = 0; k < 3; ++k) rgb[3 * g + k] = u(0.f, 1.f);
    opac[g] = u(s.min_opacity, s.max_opacity);
    depth[g] = u(1.f, 10.f);
  }
  RasterScene r;
  r.means2d = Tensor::from_vector(xy, {s.n, 2}, d);
  r.conics = Tensor::from_vector(conic, {s.n, 3}, d);
  r.colors = Tensor::from_vector(rgb, {s.n, 3}, d);
  r.opacities = Tensor::from_vector(opac, {s.n}, d);
  r.depths = Tensor::from_vector(depth, {s.n}, d);
  r.radii = Tensor::from_vector(radii, {s.n, 2}, d);
  r.width = s.width;
  r.height = s.height;
  r.background = s.background;
  return r;
}

}  // namespace vg::test
