// CUDA isect_tiles: count tiles per Gaussian -> CUB inclusive scan -> read the total back (the one
// host sync) -> fill (tile << 32 | depth bits, gaussian id) pairs -> CUB radix sort over the used key
// bits (stable) -> tile_offsets from the tile-id boundaries (gsplat isect_tiles + isect_offset_encode). With conics
// and opacities, each box row keeps only the columns the Gaussian's ellipse reaches (ellipse_row_span).
#include <cub/cub.cuh>

#include "core/cuda_check.h"
#include "splat/rasterize_internal.h"

namespace vg {
namespace {

constexpr int kBlock = 256;

struct Cull {  // the Gaussians' conics and opacities, or null for the box alone
  const float* conics;
  const float* opacities;
};

// Calls f(tile row, first column, end column) for the tiles Gaussian g is listed in, row by row.
template <typename F>
__device__ __forceinline__ void for_each_row(int64_t g, const float* __restrict__ means2d,
                                             const int32_t* __restrict__ radii, Cull cull, float inv_tile, int tiles_x,
                                             int tiles_y, F&& f) {
  const int rx = radii[2 * g], ry = radii[2 * g + 1];
  if (rx <= 0 || ry <= 0) return;
  const float mx = means2d[2 * g], my = means2d[2 * g + 1];
  const TileRect r = tile_rect(mx, my, rx, ry, inv_tile, tiles_x, tiles_y);
  const TileEllipse e = cull.conics ? tile_ellipse(cull.conics[3 * g], cull.conics[3 * g + 1], cull.conics[3 * g + 2],
                                                   cull.opacities[g])
                                    : TileEllipse{};
  for (int ty = r.y0; ty < r.y1; ++ty) {
    int x0 = r.x0, x1 = r.x1;
    if (cull.conics) ellipse_row_span(e, mx, my, ty, kTileSize, inv_tile, &x0, &x1);
    if (x1 > x0) f(ty, x0, x1);
  }
}

__global__ void count_tiles_kernel(int64_t n, const float* __restrict__ means2d, const int32_t* __restrict__ radii,
                                   Cull cull, float inv_tile, int tiles_x, int tiles_y, int64_t* __restrict__ counts) {
  int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= n) return;
  int c = 0;
  for_each_row(g, means2d, radii, cull, inv_tile, tiles_x, tiles_y, [&](int, int x0, int x1) { c += x1 - x0; });
  counts[g] = c;
}

// cum[g] = inclusive prefix sum of counts: Gaussian g writes slots [cum[g-1], cum[g]).
__global__ void fill_keys_kernel(int64_t n, const float* __restrict__ means2d, const int32_t* __restrict__ radii,
                                 Cull cull, const float* __restrict__ depths, const int64_t* __restrict__ cum,
                                 float inv_tile, int tiles_x, int tiles_y, unsigned long long* __restrict__ keys,
                                 int32_t* __restrict__ ids) {
  int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= n) return;
  int64_t k = g == 0 ? 0 : cum[g - 1];
  const float z = depths[g];
  for_each_row(g, means2d, radii, cull, inv_tile, tiles_x, tiles_y, [&](int ty, int x0, int x1) {
    for (int tx = x0; tx < x1; ++tx) {
      keys[k] = isect_key(ty * tiles_x + tx, z);
      ids[k] = static_cast<int32_t>(g);
      ++k;
    }
  });
}

// Sorted keys: each intersection where the tile changes writes the offsets of the tiles in between
// (e.g. tiles [1,1,1,3,3] of 6 -> offsets [0,0,3,3,5,5]).
__global__ void tile_offsets_kernel(int64_t n_isects, const unsigned long long* __restrict__ keys, int n_tiles,
                                    int32_t* __restrict__ offsets) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_isects) return;
  int cur = static_cast<int>(keys[i] >> 32);
  if (i == 0)
    for (int t = 0; t <= cur; ++t) offsets[t] = 0;
  else {
    int prev = static_cast<int>(keys[i - 1] >> 32);
    for (int t = prev + 1; t <= cur; ++t) offsets[t] = static_cast<int32_t>(i);
  }
  if (i == n_isects - 1)
    for (int t = cur + 1; t < n_tiles; ++t) offsets[t] = static_cast<int32_t>(n_isects);
}

Tensor device_bytes(size_t bytes, Device d) {
  return Tensor::empty({static_cast<int64_t>(bytes > 0 ? bytes : 1)}, DType::U8, d);
}

}  // namespace

TileIntersections isect_tiles_cuda(const Tensor& means2d, const Tensor& radii, const Tensor& depths, int tiles_x,
                                   int tiles_y, int tile_size, const Tensor& conics, const Tensor& opacities) {
  const Device dev = means2d.device();
  const int64_t n = means2d.size(0);
  const int n_tiles = tiles_x * tiles_y;
  const float inv_tile = 1.0f / static_cast<float>(tile_size);
  TileIntersections out;
  out.tile_size = tile_size;
  out.tiles_x = tiles_x;
  out.tiles_y = tiles_y;
  out.tile_offsets = Tensor::zeros({n_tiles}, DType::I32, dev);
  if (n == 0) {
    out.flatten_ids = Tensor::empty({0}, DType::I32, dev);
    return out;
  }
  const float* xy = means2d.data<float>();
  const int32_t* rad = radii.data<int32_t>();
  const Cull cull{conics.defined() ? conics.data<float>() : nullptr,
                  opacities.defined() ? opacities.data<float>() : nullptr};

  Tensor counts = Tensor::empty({n}, DType::I64, dev);  // i64 so the scan cannot overflow
  count_tiles_kernel<<<grid_for(n, kBlock), kBlock>>>(n, xy, rad, cull, inv_tile, tiles_x, tiles_y,
                                                      counts.data<int64_t>());
  VG_CUDA_CHECK_LAUNCH();
  Tensor cum = Tensor::empty({n}, DType::I64, dev);
  size_t temp_bytes = 0;
  VG_CUDA_CHECK(cub::DeviceScan::InclusiveSum(nullptr, temp_bytes, counts.data<int64_t>(), cum.data<int64_t>(),
                                              static_cast<int>(n)));
  Tensor temp = device_bytes(temp_bytes, dev);
  VG_CUDA_CHECK(cub::DeviceScan::InclusiveSum(temp.raw(), temp_bytes, counts.data<int64_t>(), cum.data<int64_t>(),
                                              static_cast<int>(n)));
  int64_t n_isects = 0;  // the one host sync of the op
  VG_CUDA_CHECK(cudaMemcpy(&n_isects, cum.data<int64_t>() + (n - 1), sizeof(int64_t), cudaMemcpyDeviceToHost));
  VG_CHECK(n_isects < (int64_t{1} << 31), "isect_tiles: too many intersections (", n_isects, ")");
  out.n_isects = n_isects;
  out.flatten_ids = Tensor::empty({n_isects}, DType::I32, dev);
  if (n_isects == 0) return out;

  Tensor keys_in = Tensor::empty({n_isects}, DType::I64, dev), keys_out = Tensor::empty({n_isects}, DType::I64, dev);
  Tensor ids_in = Tensor::empty({n_isects}, DType::I32, dev);
  auto* kin = reinterpret_cast<unsigned long long*>(keys_in.raw());
  auto* kout = reinterpret_cast<unsigned long long*>(keys_out.raw());
  fill_keys_kernel<<<grid_for(n, kBlock), kBlock>>>(n, xy, rad, cull, depths.data<float>(), cum.data<int64_t>(), inv_tile,
                                                    tiles_x, tiles_y, kin, ids_in.data<int32_t>());
  VG_CUDA_CHECK_LAUNCH();

  const int end_bit = 32 + bits_for_count(n_tiles);  // only the bits that can be set
  const int count = static_cast<int>(n_isects);
  temp_bytes = 0;
  VG_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, kin, kout, ids_in.data<int32_t>(),
                                                out.flatten_ids.data<int32_t>(), count, 0, end_bit));
  temp = device_bytes(temp_bytes, dev);
  VG_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.raw(), temp_bytes, kin, kout, ids_in.data<int32_t>(),
                                                out.flatten_ids.data<int32_t>(), count, 0, end_bit));

  tile_offsets_kernel<<<grid_for(n_isects, kBlock), kBlock>>>(n_isects, kout, n_tiles,
                                                              out.tile_offsets.data<int32_t>());
  VG_CUDA_CHECK_LAUNCH();
  return out;
}

}  // namespace vg
