// CPU reference of isect_tiles: per-Gaussian tile counts, prefix sum, keys (tile << 32 | depth bits),
// a stable sort by key and per-tile offsets (gsplat isect_tiles + isect_offset_encode); with conics and
// opacities, each box row keeps only the columns the Gaussian's ellipse reaches (ellipse_row_span).
#include <algorithm>
#include <utility>
#include <vector>

#include "core/parallel.h"
#include "splat/rasterize_internal.h"

namespace vg {

TileIntersections isect_tiles_cpu(const Tensor& means2d, const Tensor& radii, const Tensor& depths, int tiles_x,
                                  int tiles_y, int tile_size, const Tensor& conics, const Tensor& opacities) {
  const int64_t n = means2d.size(0);
  const float* xy = means2d.data<float>();
  const int32_t* rad = radii.data<int32_t>();
  const float* z = depths.data<float>();
  const float inv_tile = 1.0f / static_cast<float>(tile_size);
  const float* q = conics.defined() ? conics.data<float>() : nullptr;
  const float* o = opacities.defined() ? opacities.data<float>() : nullptr;
  // Calls f(tile row, first column, end column) for the tiles Gaussian g is listed in, row by row.
  auto for_each_row = [&](int64_t g, auto&& f) {
    if (rad[2 * g] <= 0 || rad[2 * g + 1] <= 0) return;
    const TileRect r = tile_rect(xy[2 * g], xy[2 * g + 1], rad[2 * g], rad[2 * g + 1], inv_tile, tiles_x, tiles_y);
    const TileEllipse e = q ? tile_ellipse(q[3 * g], q[3 * g + 1], q[3 * g + 2], o[g]) : TileEllipse{};
    for (int ty = r.y0; ty < r.y1; ++ty) {
      int x0 = r.x0, x1 = r.x1;
      if (q) ellipse_row_span(e, xy[2 * g], xy[2 * g + 1], ty, tile_size, inv_tile, &x0, &x1);
      if (x1 > x0) f(ty, x0, x1);
    }
  };

  // offsets[g] = first intersection slot of Gaussian g (exclusive scan of its tile count)
  std::vector<int64_t> offsets(static_cast<size_t>(n) + 1, 0);
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g) {
      int64_t c = 0;
      for_each_row(g, [&](int, int x0, int x1) { c += x1 - x0; });
      offsets[g + 1] = c;
    }
  });
  for (int64_t g = 0; g < n; ++g) offsets[g + 1] += offsets[g];
  const int64_t n_isects = offsets[n];
  VG_CHECK(n_isects < (int64_t{1} << 31), "isect_tiles: too many intersections (", n_isects, ")");

  // (key, gaussian id) pairs in Gaussian-major order; sorting the pairs = stable sort by key
  std::vector<std::pair<uint64_t, int32_t>> pairs(static_cast<size_t>(n_isects));
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g) {
      if (offsets[g + 1] == offsets[g]) continue;
      int64_t k = offsets[g];
      for_each_row(g, [&](int ty, int x0, int x1) {
        for (int tx = x0; tx < x1; ++tx) pairs[k++] = {isect_key(ty * tiles_x + tx, z[g]), static_cast<int32_t>(g)};
      });
    }
  });
  std::sort(pairs.begin(), pairs.end());

  TileIntersections out;
  out.tile_size = tile_size;
  out.tiles_x = tiles_x;
  out.tiles_y = tiles_y;
  out.n_isects = n_isects;
  const int64_t n_tiles = int64_t{tiles_x} * tiles_y;
  out.flatten_ids = Tensor::empty({n_isects}, DType::I32);
  out.tile_offsets = Tensor::zeros({n_tiles}, DType::I32);
  int32_t* ids = out.flatten_ids.data<int32_t>();
  int32_t* tile_offsets = out.tile_offsets.data<int32_t>();
  // per-tile counts -> exclusive scan: empty tiles get the next non-empty tile's offset (or n_isects)
  std::vector<int64_t> tile_counts(static_cast<size_t>(n_tiles), 0);
  for (int64_t i = 0; i < n_isects; ++i) {
    ids[i] = pairs[i].second;
    ++tile_counts[pairs[i].first >> 32];
  }
  int64_t acc = 0;
  for (int64_t t = 0; t < n_tiles; ++t) {
    tile_offsets[t] = static_cast<int32_t>(acc);
    acc += tile_counts[t];
  }
  return out;
}

}  // namespace vg
