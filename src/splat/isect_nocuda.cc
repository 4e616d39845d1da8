// CPU-only builds: the CUDA isect launcher exists but refuses.
#include "splat/rasterize_internal.h"

namespace vg {

TileIntersections isect_tiles_cuda(const Tensor&, const Tensor&, const Tensor&, int, int, int, const Tensor&,
                                   const Tensor&) {
  VG_FAIL("isect_tiles: CUDA tensors given but vgsplat was built without CUDA");
}

}  // namespace vg
