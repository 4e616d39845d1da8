// Backend-op cases for the tile rasterizer: isect_tiles, rasterize_forward and rasterize_backward on
// ~5000 Gaussians at 200x150 (moderate depth complexity, so float T_final stays well conditioned).
#include <random>

#include "tests/backend_ops.h"
#include "tests/raster_scene.h"
#include "splat/rasterize.h"
#include "tests/test_util.h"

namespace vg::test {
namespace {

SceneSpec ops_scene() {
  return {.n = 5000, .width = 200, .height = 150, .min_scale = 0.8f, .max_scale = 4.f, .min_opacity = 0.05f,
          .max_opacity = 0.8f, .margin = 10.f, .background = {0.1f, 0.4f, 0.8f}, .seed = 2024};
}

OpOutputs run_isect(Device d, bool tight) {
  SceneSpec spec = ops_scene();
  if (tight) spec.min_scale = 0.5f, spec.max_scale = 12.f;  // elongated ellipses, where the box is loose
  RasterScene s = make_scene(spec, d);
  TileIntersections isect = tight ? isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height, kTileSize, s.conics,
                                                s.opacities)
                                  : isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  return {{"tile_offsets", isect.tile_offsets}, {"flatten_ids", isect.flatten_ids}};
}

OpOutputs run_forward(Device d) {
  RasterScene s = make_scene(ops_scene(), d);
  TileIntersections isect = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  RasterOut out =
      rasterize_forward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width, s.height);
  return {{"colors", out.colors}, {"alphas", out.alphas}, {"last_ids", out.last_ids}};
}

OpOutputs run_backward(Device d, bool alpha_loss, bool absgrad) {
  RasterScene s = make_scene(ops_scene(), d);
  TileIntersections isect = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  RasterOut fwd =
      rasterize_forward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width, s.height);
  std::mt19937 rng(77);
  Tensor v_colors = uniform({s.height, s.width, 3}, -1.f, 1.f, rng, d);
  Tensor v_alphas = alpha_loss ? uniform({s.height, s.width}, -1.f, 1.f, rng, d) : Tensor();
  RasterGrads g = rasterize_backward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width,
                                     s.height, fwd, v_colors, v_alphas, absgrad);
  OpOutputs out{{"v_means2d", g.v_means2d},
                {"v_conics", g.v_conics},
                {"v_colors", g.v_colors},
                {"v_opacities", g.v_opacities}};
  if (absgrad) out["v_means2d_abs"] = g.v_means2d_abs;
  return out;
}

RegisterOps reg([](std::vector<OpCase>& r) {
  r.push_back({"isect_tiles/n=5000/200x150", [](Device d) { return run_isect(d, false); }});
  r.push_back({"isect_tiles/n=5000/200x150/tight", [](Device d) { return run_isect(d, true); }});
  r.push_back({"rasterize_forward/n=5000/200x150", run_forward});
  r.push_back({"rasterize_backward/n=5000/200x150/alpha_loss/absgrad",
               [](Device d) { return run_backward(d, true, true); }});
  r.push_back({"rasterize_backward/n=5000/200x150/colors_only", [](Device d) { return run_backward(d, false, false); }});
});

}  // namespace
}  // namespace vg::test
