// The bilateral grid on CUDA (splat/bilateral_grid.h). Slice: one thread per pixel. Its backward: 32 x 8 pixel
// tiles (a warp is 32 pixels of a row); the grid cells a tile can touch are accumulated in shared memory when they
// fit (else straight into global memory), and a corner that all 32 lanes share is summed by warp shuffles first,
// so that smooth images do not serialise on one address. TV: one thread per grid element, the loss block-reduced.
#include "core/cuda_launch.cuh"
#include "splat/bilateral_grid_kernels.h"

namespace vg::detail {
namespace {

constexpr unsigned kFull = 0xffffffffu;
constexpr int kTileW = 32, kTileH = 8;
constexpr int kMaxSharedFloats = 12 * 1024;  // 48 KB

__global__ void slice_kernel(const float* __restrict__ grid, BilagridDims d, int H, int W,
                             const float* __restrict__ rgb, float* __restrict__ out) {
  const int64_t n = static_cast<int64_t>(H) * W;
  VG_GRID_STRIDE(p, n) {
    const float c[3] = {rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]};
    float o[3];
    bg_slice_pixel<float>(grid, d, static_cast<int>(p % W), static_cast<int>(p / W), W, H, c, o);
    out[3 * p] = o[0], out[3 * p + 1] = o[1], out[3 * p + 2] = o[2];
  }
}

// The cells [lo, hi] of an axis that pixels first..last can touch (the coordinate is monotone in the pixel; a
// cell outside, from a different rounding, goes to global memory).
__device__ void tile_cells(int first, int last, int pixels, int size, int& lo, int& hi) {
  lo = bg_axis<float>(bg_pixel_coord<float>(first, pixels, size), size).i0;
  hi = bg_axis<float>(bg_pixel_coord<float>(last, pixels, size), size).i1;
}

__global__ void slice_backward_kernel(const float* __restrict__ grid, BilagridDims d, int H, int W,
                                      const float* __restrict__ rgb, const float* __restrict__ v_out,
                                      float* __restrict__ v_grid, float* __restrict__ v_rgb, int shared_floats) {
  extern __shared__ float acc[];
  const int x0 = blockIdx.x * kTileW, y0 = blockIdx.y * kTileH;
  int lx, hx, ly, hy;
  tile_cells(x0, min(x0 + kTileW, W) - 1, W, d.gw, lx, hx);
  tile_cells(y0, min(y0 + kTileH, H) - 1, H, d.gh, ly, hy);
  const int nx = hx - lx + 1, ny = hy - ly + 1;
  const int local_plane = d.gl * ny * nx;
  const bool shared = 12 * local_plane <= shared_floats;  // block-uniform
  const int tid = threadIdx.y * kTileW + threadIdx.x;
  if (shared) {
    for (int i = tid; i < 12 * local_plane; i += kTileW * kTileH) acc[i] = 0.0f;
    __syncthreads();
  }
  // Lanes past the image's edge run the same code on a clamped pixel with a zero v_out (warp collectives).
  const int x = x0 + threadIdx.x, y = y0 + threadIdx.y;
  const bool inside = x < W && y < H;
  const int64_t p = static_cast<int64_t>(min(y, H - 1)) * W + min(x, W - 1);
  const float c[3] = {rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]};
  const float vo[3] = {inside ? v_out[3 * p] : 0.0f, inside ? v_out[3 * p + 1] : 0.0f,
                       inside ? v_out[3 * p + 2] : 0.0f};
  float vr[3];
  const int64_t plane = d.cells();
  bg_slice_pixel_vjp<float>(grid, d, min(x, W - 1), min(y, H - 1), W, H, c, vo, vr,
                            [&](const BgCell& cell, float w, const float* vA) {
    // This lane's target of channel 0 (shared when the cell is in the tile's range, else global) and the step
    // between channels.
    float* target;
    int64_t stride;
    if (shared && cell.ix >= lx && cell.ix <= hx && cell.iy >= ly && cell.iy <= hy) {
      target = acc + (cell.iz * ny + (cell.iy - ly)) * nx + (cell.ix - lx), stride = local_plane;
    } else {
      target = v_grid + cell.off, stride = plane;
    }
    const auto addr = reinterpret_cast<unsigned long long>(target);
    const bool uniform = __all_sync(kFull, addr == __shfl_sync(kFull, addr, 0));
    for (int ch = 0; ch < 12; ++ch) {
      float v = w * vA[ch];
      if (uniform) {
        v = warp_sum_lane0(v);
        if (threadIdx.x == 0) atomicAdd(target + ch * stride, v);
      } else if (v != 0.0f) {
        atomicAdd(target + ch * stride, v);
      }
    }
  });
  if (inside) v_rgb[3 * p] = vr[0], v_rgb[3 * p + 1] = vr[1], v_rgb[3 * p + 2] = vr[2];
  if (!shared) return;
  __syncthreads();
  for (int i = tid; i < 12 * local_plane; i += kTileW * kTileH) {
    const float v = acc[i];
    if (v == 0.0f) continue;
    const int ch = i / local_plane, r = i % local_plane;
    const int ix = lx + r % nx, iy = ly + r / nx % ny, iz = r / (nx * ny);
    atomicAdd(v_grid + ch * plane + (static_cast<int64_t>(iz) * d.gh + iy) * d.gw + ix, v);
  }
}

__global__ void tv_kernel(const float* __restrict__ grids, int64_t n, BilagridDims d, float scale,
                          float* __restrict__ v, float* __restrict__ loss) {
  float sum = 0.0f;
  VG_GRID_STRIDE(e, n) sum += bg_tv_element<float>(grids, d, e, scale, v);
  block_sum_atomic_add(sum, loss);
}

// An upper bound of the cells along an axis that `tile` consecutive pixels of `pixels` can touch.
int tile_cells_bound(int tile, int pixels, int size) {
  const int b = static_cast<int>(static_cast<double>(tile) * (size - 1) / pixels) + 3;
  return b < size ? b : size;
}

}  // namespace

void bilagrid_slice_cuda(const float* grid, BilagridDims d, int H, int W, const float* rgb, float* out) {
  const int64_t n = static_cast<int64_t>(H) * W;
  VG_LAUNCH(slice_kernel, n, grid, d, H, W, rgb, out);
}

void bilagrid_slice_backward_cuda(const float* grid, BilagridDims d, int H, int W, const float* rgb,
                                  const float* v_out, float* v_grid, float* v_rgb) {
  if (H <= 0 || W <= 0) return;
  const int want = 12 * d.gl * tile_cells_bound(kTileW, W, d.gw) * tile_cells_bound(kTileH, H, d.gh);
  const int shared_floats = want <= kMaxSharedFloats ? want : 0;  // else every tile adds to global memory
  const dim3 block(kTileW, kTileH), blocks(grid_for(W, kTileW), grid_for(H, kTileH));
  slice_backward_kernel<<<blocks, block, static_cast<size_t>(shared_floats) * sizeof(float)>>>(
      grid, d, H, W, rgb, v_out, v_grid, v_rgb, shared_floats);
  VG_CUDA_CHECK_LAUNCH();
}

void bilagrid_tv_cuda(const float* grids, int64_t n, BilagridDims d, float scale, float* v_grids, float* loss) {
  const int64_t total = n * d.size();
  VG_LAUNCH(tv_kernel, total, grids, total, d, scale, v_grids, loss);
}

}  // namespace vg::detail
