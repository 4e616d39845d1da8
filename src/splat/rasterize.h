// Tile-based rasterization of projected Gaussians (3DGS sec. 6; gsplat rasterize_to_pixels):
// tile/Gaussian intersections sorted by (tile, depth), then front-to-back alpha compositing per pixel
//   C = sum_i c_i a_i T_i + T_final * background,  a_i = min(0.99, o_i exp(-sigma_i)),  T_i = prod_{j<i}(1 - a_j)
// skipping a_i < 1/255 and stopping once T < 1e-4. CPU reference and CUDA (CUB radix sort) behind one call.
#pragma once
#include <array>

#include "core/tensor.h"
#include "splat/preprocess.h"

namespace vg {

constexpr int kTileSize = 16;

struct TileIntersections {
  int tile_size = kTileSize;
  int tiles_x = 0, tiles_y = 0;  // tile grid covering the image
  int64_t n_isects = 0;
  Tensor tile_offsets;  // i32 [tiles_y * tiles_x]: first index into flatten_ids of each tile
  Tensor flatten_ids;   // i32 [n_isects]: Gaussian ids sorted by tile, then depth (front first)
};

// Every (tile, Gaussian) pair whose box (radii) touches the tile, sorted. With the conics [N,3] and opacities [N]
// of the rasterizer, pairs whose tile no pixel centre of the Gaussian's alpha >= 1/255 ellipse reaches are left out
// (the rendering is the same: the rasterizer would skip them); undefined tensors = the box alone (gsplat).
TileIntersections isect_tiles(const Tensor& means2d, const Tensor& radii, const Tensor& depths, int width,
                              int height, int tile_size = kTileSize, const Tensor& conics = Tensor(),
                              const Tensor& opacities = Tensor());

struct RasterOut {
  Tensor colors;    // [H,W,3] composited colour including background
  Tensor alphas;    // [H,W]   1 - T_final
  Tensor last_ids;  // i32 [H,W] index into flatten_ids of the last Gaussian that contributed (-1 = none)
  // CUDA only, for the backward's work split: each tile's list in chunks of kTileSize^2 Gaussians; chunk_base
  // i32 [tiles + 1] = first chunk of each tile, chunk_state f32 [chunks, kTileSize^2, 4] = every pixel's
  // transmittance and accumulated colour after each chunk.
  Tensor chunk_base, chunk_state;
};

RasterOut rasterize_forward(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                            const Tensor& opacities, const std::array<float, 3>& background,
                            const TileIntersections& isect, int width, int height);

struct RasterGrads {
  Tensor v_means2d;      // [N,2]
  Tensor v_means2d_abs;  // [N,2] sum of |per-pixel gradient| (gsplat absgrad); empty unless asked
  Tensor v_conics;       // [N,3]
  Tensor v_colors;       // [N,3]
  Tensor v_opacities;    // [N]
};

// v_render_alphas may be an undefined Tensor (no alpha loss).
RasterGrads rasterize_backward(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                               const Tensor& opacities, const std::array<float, 3>& background,
                               const TileIntersections& isect, int width, int height, const RasterOut& fwd,
                               const Tensor& v_render_colors, const Tensor& v_render_alphas, bool absgrad);

}  // namespace vg
