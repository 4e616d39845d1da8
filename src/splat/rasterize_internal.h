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

// Sort key of one intersection: tile id above the float bits of the (positive) depth.
VG_HD uint64_t isect_key(int tile_id, float depth) {
  uint32_t bits;
  memcpy(&bits, &depth, sizeof(bits));
  return (static_cast<uint64_t>(tile_id) << 32) | bits;
}

// ---- CPU reference -------------------------------------------------------------------------
// Raw views of the rasterizer inputs (one camera, N Gaussians, colors with 3 channels).
TileIntersections isect_tiles_cpu(const Tensor& means2d, const Tensor& radii, const Tensor& depths, int tiles_x,
                                  int tiles_y, int tile_size);

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
                                   int tiles_y, int tile_size);
RasterOut rasterize_forward_cuda(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                                 const Tensor& opacities, const std::array<float, 3>& background,
                                 const TileIntersections& isect, int width, int height);
RasterGrads rasterize_backward_cuda(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                                    const Tensor& opacities, const std::array<float, 3>& background,
                                    const TileIntersections& isect, int width, int height, const RasterOut& fwd,
                                    const Tensor& v_render_colors, const Tensor& v_render_alphas, bool absgrad);

}  // namespace vg
