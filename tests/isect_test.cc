// isect_tiles against a straightforward per-tile construction: for every tile, the Gaussians whose
// radius box touches it, ordered by depth (ties by id); offsets = exclusive scan of the tile counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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
}

}  // namespace
}  // namespace vg::test
