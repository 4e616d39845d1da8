// CPU-only builds: the CUDA rasterizer launchers exist but refuse.
#include "splat/rasterize_internal.h"

namespace vg {

RasterOut rasterize_forward_cuda(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                 const std::array<float, 3>&, const TileIntersections&, int, int) {
  VG_FAIL("rasterize_forward: CUDA tensors given but vgsplat was built without CUDA");
}

RasterGrads rasterize_backward_cuda(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                    const std::array<float, 3>&, const TileIntersections&, int, int, const RasterOut&,
                                    const Tensor&, const Tensor&, bool) {
  VG_FAIL("rasterize_backward: CUDA tensors given but vgsplat was built without CUDA");
}

}  // namespace vg
