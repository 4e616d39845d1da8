// isect_tiles: validates the inputs and dispatches to the CPU reference or the CUDA kernels.
#include "core/error.h"
#include "splat/rasterize.h"
#include "splat/rasterize_internal.h"

namespace vg {

TileIntersections isect_tiles(const Tensor& means2d, const Tensor& radii, const Tensor& depths, int width,
                              int height, int tile_size, const Tensor& conics, const Tensor& opacities) {
  VG_CHECK(width > 0 && height > 0, "isect_tiles: image size must be positive, got ", width, "x", height);
  VG_CHECK(tile_size > 0, "isect_tiles: tile_size must be positive, got ", tile_size);
  means2d.expect("isect_tiles means2d", {-1, 2});
  const int64_t n = means2d.size(0);
  radii.expect("isect_tiles radii", {n, 2}, DType::I32);
  depths.expect("isect_tiles depths", {n});
  VG_CHECK(radii.device() == means2d.device() && depths.device() == means2d.device(),
           "isect_tiles: means2d, radii and depths must be on one device");
  VG_CHECK(conics.defined() == opacities.defined(), "isect_tiles: conics and opacities go together");
  if (conics.defined()) {
    conics.expect("isect_tiles conics", {n, 3});
    opacities.expect("isect_tiles opacities", {n});
    VG_CHECK(conics.device() == means2d.device() && opacities.device() == means2d.device(),
             "isect_tiles: conics and opacities must be on the device of means2d");
  }
  VG_CHECK(n < (int64_t{1} << 31), "isect_tiles: too many Gaussians (", n, ")");
  const int tiles_x = (width + tile_size - 1) / tile_size;
  const int tiles_y = (height + tile_size - 1) / tile_size;
  VG_CHECK(bits_for_count(int64_t{tiles_x} * tiles_y) <= 31, "isect_tiles: tile grid too large");
  if (means2d.is_cuda()) {
    VG_CHECK(tile_size == kTileSize, "isect_tiles: the CUDA backend supports tile_size ", kTileSize, " only, got ",
             tile_size);
    return isect_tiles_cuda(means2d, radii, depths, tiles_x, tiles_y, tile_size, conics, opacities);
  }
  return isect_tiles_cpu(means2d, radii, depths, tiles_x, tiles_y, tile_size, conics, opacities);
}

}  // namespace vg
