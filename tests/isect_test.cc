// isect_tiles against a straightforward per-tile construction: for every tile, the Gaussians whose
// radius box touches it, ordered by depth (ties by id); offsets = exclusive scan of the tile counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "raster_scene.h"
#include "splat/rasterize.h"
#include "test_util.h"

namespace vg::test {
namespace {

struct Expected {
  std::vector<int32_t> offsets, ids;
};

Expected straightforward(const RasterScene& s, int tile_size) {
  const int tx_n = (s.width + tile_size - 1) / tile_size, ty_n = (s.height + tile_size - 1) / tile_size;
  auto xy = s.means2d.to_vector<float>();
  auto rad = s.radii.to_vector<int32_t>();
  auto z = s.depths.to_vector<float>();
  const float ts = static_cast<float>(tile_size);
  Expected e;
  for (int ty = 0; ty < ty_n; ++ty)
    for (int tx = 0; tx < tx_n; ++tx) {
      std::vector<int32_t> hit;
      for (int32_t g = 0; g < static_cast<int32_t>(z.size()); ++g) {
        if (rad[2 * g] <= 0 || rad[2 * g + 1] <= 0) continue;
        // tile t overlaps [floor(m/ts - r/ts), ceil(m/ts + r/ts)) along each axis
        const float cx = xy[2 * g] / ts, cy = xy[2 * g + 1] / ts;
        const float rx = rad[2 * g] / ts, ry = rad[2 * g + 1] / ts;
        if (std::floor(cx - rx) <= tx && tx < std::ceil(cx + rx) && std::floor(cy - ry) <= ty &&
            ty < std::ceil(cy + ry))
          hit.push_back(g);
      }
      std::stable_sort(hit.begin(), hit.end(), [&](int32_t a, int32_t b) { return z[a] < z[b]; });
      e.offsets.push_back(static_cast<int32_t>(e.ids.size()));
      e.ids.insert(e.ids.end(), hit.begin(), hit.end());
    }
  return e;
}

void check_against_straightforward(const SceneSpec& spec, int tile_size) {
  RasterScene s = make_scene(spec);
  TileIntersections isect = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height, tile_size);
  Expected e = straightforward(s, tile_size);
  EXPECT_EQ(isect.tiles_x, (s.width + tile_size - 1) / tile_size);
  EXPECT_EQ(isect.tiles_y, (s.height + tile_size - 1) / tile_size);
  EXPECT_EQ(isect.n_isects, static_cast<int64_t>(e.ids.size()));
  EXPECT_EQ(isect.tile_offsets.to_vector<int32_t>(), e.offsets);
  EXPECT_EQ(isect.flatten_ids.to_vector<int32_t>(), e.ids);
}

TEST(IsectTiles, MatchesStraightforwardConstruction) {
  check_against_straightforward({.n = 300, .width = 100, .height = 75, .max_scale = 12.f, .margin = 30.f, .seed = 3},
                                16);
  check_against_straightforward({.n = 50, .width = 16, .height = 16, .seed = 4}, 16);
  check_against_straightforward({.n = 200, .width = 37, .height = 61, .max_scale = 6.f, .seed = 5}, 16);
  check_against_straightforward({.n = 200, .width = 37, .height = 61, .max_scale = 6.f, .seed = 6}, 8);
}

TEST(IsectTiles, EmptyTilesTakeTheNextOffset) {
  // one Gaussian in tile (1,0) of a 4x2 grid: offsets [0,0,1,1,1,1,1,1]
  Tensor means = Tensor::from_vector<float>({24.f, 8.f}, {1, 2});
  Tensor radii = Tensor::from_vector<int32_t>({3, 3}, {1, 2});
  Tensor depths = Tensor::from_vector<float>({2.f}, {1});
  TileIntersections isect = isect_tiles(means, radii, depths, 64, 32);
  EXPECT_EQ(isect.n_isects, 1);
  EXPECT_EQ(isect.tile_offsets.to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(isect.flatten_ids.to_vector<int32_t>(), (std::vector<int32_t>{0}));
}

TEST(IsectTiles, CulledAndOffscreenGaussiansAndNoGaussians) {
  Tensor means = Tensor::from_vector<float>({10.f, 10.f, -100.f, 5.f, 8.f, 8.f}, {3, 2});
  Tensor radii = Tensor::from_vector<int32_t>({0, 4, 5, 5, 4, 0}, {3, 2});
  Tensor depths = Tensor::from_vector<float>({1.f, 1.f, 1.f}, {3});
  TileIntersections isect = isect_tiles(means, radii, depths, 40, 20);
  EXPECT_EQ(isect.n_isects, 0);
  EXPECT_EQ(isect.tile_offsets.to_vector<int32_t>(), std::vector<int32_t>(6, 0));
  TileIntersections none = isect_tiles(Tensor::empty({0, 2}), Tensor::empty({0, 2}, DType::I32),
                                       Tensor::empty({0}), 40, 20);
  EXPECT_EQ(none.n_isects, 0);
  EXPECT_EQ(none.flatten_ids.numel(), 0);
}

TEST(IsectTiles, BadInputsThrow) {
  Tensor means = Tensor::zeros({4, 2});
  Tensor radii = Tensor::zeros({4, 2}, DType::I32);
  Tensor depths = Tensor::zeros({4});
  EXPECT_THROW(isect_tiles(means, Tensor::zeros({4, 2}), depths, 10, 10), Error);  // radii not i32
  EXPECT_THROW(isect_tiles(means, radii, Tensor::zeros({3}), 10, 10), Error);
  EXPECT_THROW(isect_tiles(Tensor::zeros({4, 3}), radii, depths, 10, 10), Error);
  EXPECT_THROW(isect_tiles(means, radii, depths, 0, 10), Error);
  EXPECT_THROW(isect_tiles(means, radii, depths, 10, 10, 0), Error);
}

// Tight culling: per tile, the box's list less the Gaussians whose alpha >= 1/255 ellipse reaches none of the tile's
// pixel centres (checked in double at every pixel centre), in the same order.
void check_tight(const SceneSpec& spec, int tile_size, double max_kept_fraction) {
  RasterScene s = make_scene(spec);
  const TileIntersections box = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height, tile_size);
  const TileIntersections tight =
      isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height, tile_size, s.conics, s.opacities);
  const auto xy = s.means2d.to_vector<float>(), q = s.conics.to_vector<float>(), o = s.opacities.to_vector<float>();
  const auto bo = box.tile_offsets.to_vector<int32_t>(), bi = box.flatten_ids.to_vector<int32_t>();
  const auto to = tight.tile_offsets.to_vector<int32_t>(), ti = tight.flatten_ids.to_vector<int32_t>();
  const int n_tiles = box.tiles_x * box.tiles_y;
  int dropped = 0;
  for (int t = 0; t < n_tiles; ++t) {
    const int b_end = t + 1 < n_tiles ? bo[t + 1] : static_cast<int>(bi.size());
    const int t_end = t + 1 < n_tiles ? to[t + 1] : static_cast<int>(ti.size());
    int k = to[t];
    for (int i = bo[t]; i < b_end; ++i) {
      const int g = bi[i];
      if (k < t_end && ti[k] == g) {
        ++k;
        continue;
      }
      ++dropped;  // no pixel centre of the tile may see it
      const int x0 = (t % box.tiles_x) * tile_size, y0 = (t / box.tiles_x) * tile_size;
      for (int y = y0; y < std::min(y0 + tile_size, s.height); ++y)
        for (int x = x0; x < std::min(x0 + tile_size, s.width); ++x) {
          const double dx = xy[2 * g] - (x + 0.5), dy = xy[2 * g + 1] - (y + 0.5);
          const double sigma = 0.5 * (q[3 * g] * dx * dx + q[3 * g + 2] * dy * dy) + q[3 * g + 1] * dx * dy;
          ASSERT_LT(o[g] * std::exp(-sigma), 1.0 / 255.0) << "tile " << t << " Gaussian " << g << " pixel " << x << ","
                                                         << y;
        }
    }
    ASSERT_EQ(k, t_end) << "tile " << t << ": the tight list is not a subsequence of the box list";
  }
  EXPECT_GT(dropped, 0);
  EXPECT_LE(static_cast<double>(tight.n_isects), max_kept_fraction * static_cast<double>(box.n_isects));
}

TEST(IsectTiles, TightCullingDropsOnlyTilesTheEllipseMisses) {
  check_tight({.n = 400, .width = 160, .height = 96, .min_scale = 0.5f, .max_scale = 14.f, .min_opacity = 0.01f,
               .max_opacity = 1.0f, .margin = 30.f, .seed = 11},
              16, 0.9);
  check_tight({.n = 400, .width = 77, .height = 53, .min_scale = 0.3f, .max_scale = 6.f, .min_opacity = 0.01f,
               .max_opacity = 1.0f, .seed = 12},
              8, 0.95);
}

// The rasterizer skips exactly what the tight lists leave out: the same image and the same gradients.
TEST(IsectTiles, TightCullingRendersTheSame) {
  RasterScene s = make_scene({.n = 600, .width = 96, .height = 80, .min_scale = 0.5f, .max_scale = 10.f,
                              .min_opacity = 0.02f, .max_opacity = 0.99f, .margin = 20.f, .seed = 13});
  const TileIntersections box = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  const TileIntersections tight =
      isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height, kTileSize, s.conics, s.opacities);
  ASSERT_LT(tight.n_isects, box.n_isects);
  auto render = [&](const TileIntersections& isect) {
    return rasterize_forward(s.means2d, s.conics, s.colors, s.opacities, s.background, isect, s.width, s.height);
  };
  const RasterOut a = render(box), b = render(tight);
  EXPECT_EQ(a.colors.to_vector<float>(), b.colors.to_vector<float>());
  EXPECT_EQ(a.alphas.to_vector<float>(), b.alphas.to_vector<float>());
  std::mt19937 rng(5);
  Tensor v_colors = Tensor::empty({s.height, s.width, 3});
  for (int64_t i = 0; i < v_colors.numel(); ++i) v_colors.data<float>()[i] = std::uniform_real_distribution<float>(-1, 1)(rng);
  const RasterGrads ga = rasterize_backward(s.means2d, s.conics, s.colors, s.opacities, s.background, box, s.width,
                                            s.height, a, v_colors, Tensor(), true);
  const RasterGrads gb = rasterize_backward(s.means2d, s.conics, s.colors, s.opacities, s.background, tight, s.width,
                                            s.height, b, v_colors, Tensor(), true);
  EXPECT_EQ(ga.v_means2d.to_vector<float>(), gb.v_means2d.to_vector<float>());
  EXPECT_EQ(ga.v_means2d_abs.to_vector<float>(), gb.v_means2d_abs.to_vector<float>());
  EXPECT_EQ(ga.v_conics.to_vector<float>(), gb.v_conics.to_vector<float>());
  EXPECT_EQ(ga.v_colors.to_vector<float>(), gb.v_colors.to_vector<float>());
  EXPECT_EQ(ga.v_opacities.to_vector<float>(), gb.v_opacities.to_vector<float>());
}

TEST(IsectTiles, TightCullingNeedsBothTensors) {
  RasterScene s = make_scene({.n = 10, .seed = 14});
  EXPECT_THROW(isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height, kTileSize, s.conics, Tensor()), Error);
  EXPECT_THROW(isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height, kTileSize, s.opacities, s.opacities),
               Error);
}

TEST(IsectTiles, CudaMatchesCpu) {
  if (!have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  RasterScene s = make_scene({.n = 3000, .width = 203, .height = 150, .max_scale = 10.f, .margin = 20.f, .seed = 9});
  TileIntersections cpu = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height);
  Device d = Device::cuda(0);
  TileIntersections gpu =
      isect_tiles(s.means2d.to(d), s.radii.to(d), s.depths.to(d), s.width, s.height);
  EXPECT_EQ(gpu.n_isects, cpu.n_isects);
  EXPECT_EQ(gpu.tile_offsets.to_vector<int32_t>(), cpu.tile_offsets.to_vector<int32_t>());
  EXPECT_EQ(gpu.flatten_ids.to_vector<int32_t>(), cpu.flatten_ids.to_vector<int32_t>());
  // tight culling: the same lists bit for bit (exactly rounded operations on both sides)
  TileIntersections cpu_t = isect_tiles(s.means2d, s.radii, s.depths, s.width, s.height, kTileSize, s.conics, s.opacities);
  TileIntersections gpu_t = isect_tiles(s.means2d.to(d), s.radii.to(d), s.depths.to(d), s.width, s.height, kTileSize,
                                        s.conics.to(d), s.opacities.to(d));
  EXPECT_LT(cpu_t.n_isects, cpu.n_isects);
  EXPECT_EQ(gpu_t.n_isects, cpu_t.n_isects);
  EXPECT_EQ(gpu_t.tile_offsets.to_vector<int32_t>(), cpu_t.tile_offsets.to_vector<int32_t>());
  EXPECT_EQ(gpu_t.flatten_ids.to_vector<int32_t>(), cpu_t.flatten_ids.to_vector<int32_t>());
}

}  // namespace
}  // namespace vg::test
