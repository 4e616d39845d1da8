// Internal: one pixel of the bilateral-grid slice (forward and vector-Jacobian product) and one grid cell of its
// total-variation loss (splat/bilateral_grid.h), shared by the CPU reference, the CUDA kernels and the tests'
// double-precision finite differences (templates on the scalar type). C++17-clean: included by the .cu.
#pragma once
#include <cstdint>

#ifdef __CUDACC__
#define VG_BG_HD __host__ __device__ __forceinline__
#else
#define VG_BG_HD inline
#endif

namespace vg::detail {

// One grid's extent: gsplat's grid_X (x cells), grid_Y (y cells), grid_W (guidance bins); 12 channels each,
// stored [12][gl][gh][gw] (gsplat's (12, L, H, W)).
struct BilagridDims {
  int gw = 16, gh = 16, gl = 8;
  VG_BG_HD int64_t cells() const { return static_cast<int64_t>(gl) * gh * gw; }
  VG_BG_HD int64_t size() const { return 12 * cells(); }  // floats per grid
};

// BT.601 luma, gsplat's rgb2gray weights (the guidance is 2 * luma - 1 in [-1, 1]).
VG_BG_HD float bg_luma(int j) { return j == 0 ? 0.299f : (j == 1 ? 0.587f : 0.114f); }

// torch grid_sample along one axis (align_corners=True, padding_mode="border"): the unnormalised coordinate is
// clipped to [0, size - 1]; i0/i1 are the corners, t the weight of i1, dclip = d clipped / d coordinate (torch's
// clip_coordinates_set_grad: 0 at or beyond either border).
template <typename T>
struct BgAxis {
  int i0, i1;
  T t, dclip;
};

template <typename T>
VG_BG_HD BgAxis<T> bg_axis(T coord, int size) {
  BgAxis<T> a;
  a.dclip = T(1);
  const T hi = static_cast<T>(size - 1);
  if (!(coord > T(0))) coord = T(0), a.dclip = T(0);  // also NaN
  if (coord >= hi) coord = hi, a.dclip = T(0);
  int i0 = static_cast<int>(coord);  // coord >= 0: truncation is floor
  if (i0 > size - 2) i0 = size >= 2 ? size - 2 : 0;
  a.i0 = i0;
  a.i1 = size >= 2 ? i0 + 1 : 0;
  a.t = coord - static_cast<T>(i0);
  return a;
}

// The three sampling axes of pixel (x, y) of a W x H image with colour rgb: gsplat's grid coordinates
// ((x + 0.5) / W, (y + 0.5) / H, luma(rgb)) unnormalised to cell units.
template <typename T>
struct BgSample {
  BgAxis<T> ax, ay, az;
};

// Pixel x of `pixels` in cell units of an axis of `size` cells: (x + 0.5) / pixels * (size - 1).
template <typename T>
VG_BG_HD T bg_pixel_coord(int x, int pixels, int size) {
  return (static_cast<T>(x) + T(0.5)) / static_cast<T>(pixels) * static_cast<T>(size - 1);
}

template <typename T>
VG_BG_HD BgSample<T> bg_sample(const BilagridDims& d, int x, int y, int W, int H, const T* rgb) {
  BgSample<T> s;
  s.ax = bg_axis<T>(bg_pixel_coord<T>(x, W, d.gw), d.gw);
  s.ay = bg_axis<T>(bg_pixel_coord<T>(y, H, d.gh), d.gh);
  const T luma = T(bg_luma(0)) * rgb[0] + T(bg_luma(1)) * rgb[1] + T(bg_luma(2)) * rgb[2];
  s.az = bg_axis<T>(luma * static_cast<T>(d.gl - 1), d.gl);
  return s;
}

// Corner k (bit 0: x, bit 1: y, bit 2: z) of the trilinear stencil: its cell and weight.
struct BgCell {
  int ix, iy, iz;
  int64_t off;  // (iz * gh + iy) * gw + ix: the offset in one channel's plane
};

template <typename T>
VG_BG_HD BgCell bg_corner(const BilagridDims& d, const BgSample<T>& s, int k, T& w) {
  BgCell c;
  c.ix = (k & 1) ? s.ax.i1 : s.ax.i0, c.iy = (k & 2) ? s.ay.i1 : s.ay.i0, c.iz = (k & 4) ? s.az.i1 : s.az.i0;
  w = ((k & 1) ? s.ax.t : T(1) - s.ax.t) * ((k & 2) ? s.ay.t : T(1) - s.ay.t) * ((k & 4) ? s.az.t : T(1) - s.az.t);
  c.off = (static_cast<int64_t>(c.iz) * d.gh + c.iy) * d.gw + c.ix;
  return c;
}

// The sliced 3x4 affine matrix A (row-major, 12) of one sample: trilinear in the grid (one image's [12][cells]).
template <typename T, typename G>
VG_BG_HD void bg_affine(const G* grid, const BilagridDims& d, const BgSample<T>& s, T* A) {
  for (int c = 0; c < 12; ++c) A[c] = T(0);
  const int64_t plane = d.cells();
  for (int k = 0; k < 8; ++k) {
    T w;
    const int64_t off = bg_corner(d, s, k, w).off;
    for (int c = 0; c < 12; ++c) A[c] += w * static_cast<T>(grid[c * plane + off]);
  }
}

// lib_bilagrid color_affine_transform: out = A[:, :3] rgb + A[:, 3].
template <typename T, typename G>
VG_BG_HD void bg_slice_pixel(const G* grid, const BilagridDims& d, int x, int y, int W, int H, const T* rgb, T* out) {
  const BgSample<T> s = bg_sample(d, x, y, W, H, rgb);
  T A[12];
  bg_affine(grid, d, s, A);
  for (int i = 0; i < 3; ++i) out[i] = A[4 * i] * rgb[0] + A[4 * i + 1] * rgb[1] + A[4 * i + 2] * rgb[2] + A[4 * i + 3];
}

// The slice's VJP for one pixel given v_out = d loss / d out: writes v_rgb (the affine map's rows and the guidance
// through the luma) and calls corner(cell, w, vA) for each of the 8 stencil corners: d loss / d grid[c] at that
// cell is w * vA[c] (c < 12). Every call is made whatever the data (CUDA callers use warp collectives in it).
template <typename T, typename G, typename Corner>
VG_BG_HD void bg_slice_pixel_vjp(const G* grid, const BilagridDims& d, int x, int y, int W, int H, const T* rgb,
                                 const T* v_out, T* v_rgb, Corner&& corner) {
  const BgSample<T> s = bg_sample(d, x, y, W, H, rgb);
  T A[12], vA[12];
  bg_affine(grid, d, s, A);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) vA[4 * i + j] = v_out[i] * rgb[j];
    vA[4 * i + 3] = v_out[i];
  }
  for (int j = 0; j < 3; ++j) v_rgb[j] = v_out[0] * A[j] + v_out[1] * A[4 + j] + v_out[2] * A[8 + j];
  // d A / d z (cell units) = sum over the xy corners of w_xy (G[z1] - G[z0]).
  const int64_t plane = d.cells();
  T v_z = T(0);
  for (int k = 0; k < 8; ++k) {
    T w;
    const BgCell cell = bg_corner(d, s, k, w);
    const T wxy = ((k & 1) ? s.ax.t : T(1) - s.ax.t) * ((k & 2) ? s.ay.t : T(1) - s.ay.t);
    const T sign = (k & 4) ? T(1) : T(-1);
    for (int c = 0; c < 12; ++c) v_z += sign * wxy * vA[c] * static_cast<T>(grid[c * plane + cell.off]);
    corner(cell, w, vA);
  }
  const T v_luma = v_z * s.az.dclip * static_cast<T>(d.gl - 1);
  for (int j = 0; j < 3; ++j) v_rgb[j] += v_luma * T(bg_luma(j));
}

// lib_bilagrid total_variation_loss over N grids [N][12][gl][gh][gw]: sum over the axes L, H, W of
// sum((x[i+1] - x[i])^2) / (elements of one grid's difference tensor), all / N. `scale` = weight / N. Element e
// (flat index) adds its forward differences to the loss (returned) and writes its whole gradient to v (+=).
template <typename T, typename G>
VG_BG_HD T bg_tv_element(const G* grids, const BilagridDims& d, int64_t e, T scale, T* v) {
  const int64_t stride[3] = {static_cast<int64_t>(d.gh) * d.gw, d.gw, 1};
  const int extent[3] = {d.gl, d.gh, d.gw};
  int64_t rem = e % d.cells();
  const int pos[3] = {static_cast<int>(rem / stride[0]), static_cast<int>(rem / d.gw % d.gh),
                      static_cast<int>(rem % d.gw)};
  const T xe = static_cast<T>(grids[e]);
  T loss = T(0), g = T(0);
  for (int a = 0; a < 3; ++a) {
    int64_t count = 12 * d.cells() / extent[a] * (extent[a] - 1);  // lib_bilagrid _num_tensor_elems, at least 1
    const T inv = scale / static_cast<T>(count < 1 ? 1 : count);
    if (pos[a] + 1 < extent[a]) {
      const T diff = static_cast<T>(grids[e + stride[a]]) - xe;
      loss += inv * diff * diff;
      g -= T(2) * inv * diff;
    }
    if (pos[a] > 0) g += T(2) * inv * (xe - static_cast<T>(grids[e - stride[a]]));
  }
  v[e] += g;
  return loss;
}

void bilagrid_slice_cuda(const float* grid, BilagridDims d, int H, int W, const float* rgb, float* out);
void bilagrid_slice_backward_cuda(const float* grid, BilagridDims d, int H, int W, const float* rgb,
                                  const float* v_out, float* v_grid, float* v_rgb);
void bilagrid_tv_cuda(const float* grids, int64_t n, BilagridDims d, float scale, float* v_grids, float* loss);

}  // namespace vg::detail
