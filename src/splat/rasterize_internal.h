// Internals of the tile rasterizer shared by isect*.cc/.cu, rasterize*.cc/.cu and the tests:
// the per-(Gaussian, pixel) constants, the CPU reference kernels (templated on the scalar type so
// tests can run them in double for finite differences) and the CUDA launchers (defined in .cu, or
// in *_nocuda.cc as throwing stubs). Raw pointers only; kept C++17-clean for the .cu files.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "splat/rasterize.h"

namespace vg {

constexpr float kAlphaThreshold = 1.0f / 255.0f;        // skip a Gaussian whose alpha is below this
constexpr float kMaxAlpha = 0.99f;                       // gsplat 1.6 MAX_ALPHA
constexpr float kTransmittanceThreshold = 1e-4f;         // stop once T would fall to this
constexpr float kMinOneMinusAlpha = 1e-6f;               // guards 1 / (1 - alpha) in backward

// Number of bits needed for ids in [0, n): ceil(log2(n)), at least 1.
inline int bits_for_count(int64_t n) {
  int b = 1;
  while ((int64_t{1} << b) < n) ++b;
  return b;
}

#ifdef __CUDACC__
#define VG_HD __host__ __device__ __forceinline__
#else
#define VG_HD inline
#endif

// Tiles [x0, x1) x [y0, y1) touched by the box mean +- radius (gsplat isect_tiles, AABB path):
// floor of the low edge, ceil of the high edge, in tile units, clamped to the grid. inv_tile = 1 / tile_size
// (exact for powers of two, so CPU and GPU agree bit for bit).
struct TileRect {
  int x0, y0, x1, y1;
};
VG_HD TileRect tile_rect(float mx, float my, int rx, int ry, float inv_tile, int tiles_x, int tiles_y) {
  float tx = mx * inv_tile, ty = my * inv_tile;
  float trx = static_cast<float>(rx) * inv_tile, try_ = static_cast<float>(ry) * inv_tile;
  // clamp in float before the int cast (huge or NaN means stay defined; fmaxf(NaN, 0) = 0)
  auto clampf = [](float v, int hi) { return static_cast<int>(fminf(fmaxf(v, 0.0f), static_cast<float>(hi))); };
  TileRect r;
  r.x0 = clampf(floorf(tx - trx), tiles_x);
  r.y0 = clampf(floorf(ty - try_), tiles_y);
  r.x1 = clampf(ceilf(tx + trx), tiles_x);
  r.y1 = clampf(ceilf(ty + try_), tiles_y);
  return r;
}

// ---- Tight tile culling (exact) ----------------------------------------------------------------
// The rasterizer skips a Gaussian at a pixel where opacity * exp(-sigma) < 1/255, i.e. outside the ellipse
// d^T Q d <= R, R = 2 ln(255 opacity), Q = [[a, b], [b, c]] the conic (sigma = d^T Q d / 2). Within its box, a
// Gaussian is listed only in the tiles whose pixel centres that ellipse reaches, row by row (as Speedy-Splat's
// SnugBox / AccuTile, arXiv 2412.00578): the rendering and its gradients are unchanged, the lists shorter.
// Only exactly rounded operations (the _rn intrinsics on the GPU, where --use_fast_math would approximate), so the
// CPU and CUDA lists agree bit for bit; R carries a 1e-3 margin over every rounding error of the rasterizer's test.
namespace rn {
#ifdef __CUDA_ARCH__
VG_HD float mul(float a, float b) { return __fmul_rn(a, b); }
VG_HD float add(float a, float b) { return __fadd_rn(a, b); }
VG_HD float sub(float a, float b) { return __fsub_rn(a, b); }
VG_HD float div(float a, float b) { return __fdiv_rn(a, b); }
VG_HD float sqrt(float a) { return __fsqrt_rn(a); }
#else
VG_HD float mul(float a, float b) { return a * b; }
VG_HD float add(float a, float b) { return a + b; }
VG_HD float sub(float a, float b) { return a - b; }
VG_HD float div(float a, float b) { return a / b; }
VG_HD float sqrt(float a) { return std::sqrt(a); }
#endif
// ln x (x > 0, finite) to ~1e-7: x = m 2^e, m in [1/sqrt2, sqrt2), ln m = 2 atanh((m - 1) / (m + 1)) by its series.
VG_HD float log(float x) {
  int e = 0;
  float m = frexpf(x, &e);
  if (m < 0.70710678f) m = mul(m, 2.0f), e -= 1;
  const float z = div(sub(m, 1.0f), add(m, 1.0f)), z2 = mul(z, z);
  float p = add(1.0f / 7.0f, mul(z2, 1.0f / 9.0f));
  p = add(1.0f / 5.0f, mul(z2, p));
  p = add(1.0f / 3.0f, mul(z2, p));
  p = add(1.0f, mul(z2, p));
  return add(mul(2.0f, mul(z, p)), mul(static_cast<float>(e), 0.693147181f));
}
}  // namespace rn

// The ellipse of one Gaussian: conic (a, b, c) and R (with margin); valid = false when the conic is not positive
// definite or the opacity below 1/255, and the box alone is used.
struct TileEllipse {
  float a, b, c, det, R;
  bool valid;
};
VG_HD TileEllipse tile_ellipse(float a, float b, float c, float opacity) {
  TileEllipse e;
  e.a = a, e.b = b, e.c = c;
  e.det = rn::sub(rn::mul(a, c), rn::mul(b, b));
  const float x = rn::mul(opacity, 255.0f);
  e.valid = a > 0.0f && c > 0.0f && e.det > 0.0f && x > 1.0f && x < 3.0e38f && e.det < 3.0e38f;
  const float L = e.valid ? rn::log(x) : 0.0f;
  e.R = rn::add(rn::mul(rn::mul(2.0f, L), 1.001f), 1.0e-3f);
  return e;
}

// Tile columns [*x0, *x1) of tile row ty that the ellipse around (mx, my) reaches at a pixel centre, within the box
// columns [*x0, *x1) passed in. The right edge x_r(dy) = (-b dy + sqrt(a R - det dy^2)) / a is concave in dy, so its
// largest value over the row's pixel-centre band is at the ellipse's rightmost point when the band holds it, else at
// the nearer band edge (the left edge likewise).
VG_HD void ellipse_row_span(const TileEllipse& e, float mx, float my, int ty, int tile_size, float inv_tile, int* x0,
                            int* x1) {
  if (!e.valid) return;
  const float ymax = rn::sqrt(rn::div(rn::mul(e.R, e.a), e.det));
  const float xmax = rn::sqrt(rn::div(rn::mul(e.R, e.c), e.det));
  const float top = static_cast<float>(ty * tile_size);
  float u0 = rn::sub(rn::add(top, 0.5f), my), u1 = rn::sub(rn::add(top, static_cast<float>(tile_size) - 0.5f), my);
  u0 = u0 > -ymax ? u0 : -ymax;
  u1 = u1 < ymax ? u1 : ymax;
  if (!(u0 <= u1)) {
    *x1 = *x0;
    return;
  }
  const float aR = rn::mul(e.a, e.R);
  auto half = [&](float u) {  // sqrt(a R - det u^2) / a
    const float d = rn::sub(aR, rn::mul(e.det, rn::mul(u, u)));
    return rn::div(rn::sqrt(d > 0.0f ? d : 0.0f), e.a);
  };
  const float bu0 = rn::div(rn::mul(e.b, u0), e.a), bu1 = rn::div(rn::mul(e.b, u1), e.a);
  const float h0 = half(u0), h1 = half(u1);
  const float y_right = -rn::div(rn::mul(e.b, xmax), e.c);  // dy of the rightmost point; the leftmost at -y_right
  float hi, lo;
  if (u0 <= y_right && y_right <= u1) hi = xmax;
  else {
    const float r0 = rn::sub(h0, bu0), r1 = rn::sub(h1, bu1);
    hi = r0 > r1 ? r0 : r1;
  }
  if (u0 <= -y_right && -y_right <= u1) lo = -xmax;
  else {
    const float l0 = -rn::add(h0, bu0), l1 = -rn::add(h1, bu1);
    lo = l0 < l1 ? l0 : l1;
  }
  // tile tx holds pixel centres tx T + 0.5 ... tx T + T - 0.5
  const float c0 = rn::sub(ceilf(rn::mul(rn::add(rn::add(mx, lo), 0.5f), inv_tile)), 1.0f);
  const float c1 = rn::add(floorf(rn::mul(rn::sub(rn::add(mx, hi), 0.5f), inv_tile)), 1.0f);
  if (c0 > static_cast<float>(*x0)) *x0 = c0 < static_cast<float>(*x1) ? static_cast<int>(c0) : *x1;
  if (c1 < static_cast<float>(*x1)) *x1 = c1 > static_cast<float>(*x0) ? static_cast<int>(c1) : *x0;
}

// Sort key of one intersection: tile id above the float bits of the (positive) depth.
VG_HD uint64_t isect_key(int tile_id, float depth) {
  uint32_t bits;
  memcpy(&bits, &depth, sizeof(bits));
  return (static_cast<uint64_t>(tile_id) << 32) | bits;
}

// ---- CPU reference -------------------------------------------------------------------------
// Raw views of the rasterizer inputs (one camera, N Gaussians, colors with 3 channels).
// conics / opacities: undefined for the box alone, else the tight culling above.
TileIntersections isect_tiles_cpu(const Tensor& means2d, const Tensor& radii, const Tensor& depths, int tiles_x,
                                  int tiles_y, int tile_size, const Tensor& conics, const Tensor& opacities);

template <typename T>
struct RasterInputs {
  const T* means2d;    // [N,2]
  const T* conics;     // [N,3]
  const T* colors;     // [N,3]
  const T* opacities;  // [N]
  T background[3];
  const int32_t* tile_offsets;  // [tiles_y * tiles_x]
  const int32_t* flatten_ids;   // [n_isects]
  int64_t n_isects;
  int tile_size, tiles_x, tiles_y, width, height;
};

template <typename T>
void rasterize_forward_cpu(const RasterInputs<T>& in, T* out_colors, T* out_alphas, int32_t* last_ids);

// Gradient outputs are overwritten; v_means2d_abs may be null (no absgrad), v_render_alphas too.
template <typename T>
void rasterize_backward_cpu(const RasterInputs<T>& in, const T* render_alphas, const int32_t* last_ids,
                            const T* v_render_colors, const T* v_render_alphas, int64_t n_gaussians,
                            T* v_means2d, T* v_means2d_abs, T* v_conics, T* v_colors, T* v_opacities);

// ---- CUDA launchers (default stream; defined in isect.cu / rasterize.cu, or throwing in *_nocuda.cc) ----
// Inputs are validated by the public functions; tile_size must be kTileSize.
TileIntersections isect_tiles_cuda(const Tensor& means2d, const Tensor& radii, const Tensor& depths, int tiles_x,
                                   int tiles_y, int tile_size, const Tensor& conics, const Tensor& opacities);
RasterOut rasterize_forward_cuda(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                                 const Tensor& opacities, const std::array<float, 3>& background,
                                 const TileIntersections& isect, int width, int height);
RasterGrads rasterize_backward_cuda(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                                    const Tensor& opacities, const std::array<float, 3>& background,
                                    const TileIntersections& isect, int width, int height, const RasterOut& fwd,
                                    const Tensor& v_render_colors, const Tensor& v_render_alphas, bool absgrad);

}  // namespace vg
