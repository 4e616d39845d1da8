// CPU reference of the tile rasterizer (gsplat rasterize_to_pixels, 3DGS): the same per-tile
// front-to-back compositing as the CUDA kernels, parallel over tiles, accumulating in double.
// Backward walks each pixel's contributors back to front from last_ids, recovering T_i by dividing
// T_final by (1 - alpha) as gsplat does; per-Gaussian sums go through a per-intersection buffer
// reduced in intersection order, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "splat/rasterize_internal.h"

namespace vg {
namespace {

template <typename T>
struct Weight {
  T vis;    // exp(-sigma)
  T alpha;  // min(MAX_ALPHA, opacity * vis)
  bool valid;
};

// sigma = 0.5 (a dx^2 + c dy^2) + b dx dy with (dx, dy) = mean - pixel centre (3DGS eq. 4 with the conic).
template <typename T>
inline Weight<T> eval_weight(const T* conic, T dx, T dy, T opacity) {
  const T sigma = T(0.5) * (conic[0] * dx * dx + conic[2] * dy * dy) + conic[1] * dx * dy;
  const T vis = std::exp(-sigma);
  const T alpha = std::min(T(kMaxAlpha), opacity * vis);
  return {vis, alpha, !(sigma < T(0) || alpha < T(kAlphaThreshold))};
}

struct TileRange {
  int64_t begin, end;  // [begin, end) in flatten_ids
  int x0, y0, x1, y1;  // pixels of the tile clipped to the image
};

template <typename T>
TileRange tile_range(const RasterInputs<T>& in, int64_t tile) {
  const int64_t n_tiles = int64_t{in.tiles_x} * in.tiles_y;
  TileRange r;
  r.begin = in.tile_offsets[tile];
  r.end = tile + 1 < n_tiles ? in.tile_offsets[tile + 1] : in.n_isects;
  const int tx = static_cast<int>(tile % in.tiles_x), ty = static_cast<int>(tile / in.tiles_x);
  r.x0 = tx * in.tile_size;
  r.y0 = ty * in.tile_size;
  r.x1 = std::min(r.x0 + in.tile_size, in.width);
  r.y1 = std::min(r.y0 + in.tile_size, in.height);
  return r;
}

constexpr int kGradSlots = 11;  // v_xy(2) v_xy_abs(2) v_conic(3) v_rgb(3) v_opacity(1)

}  // namespace

template <typename T>
void rasterize_forward_cpu(const RasterInputs<T>& in, T* out_colors, T* out_alphas, int32_t* last_ids) {
  const int64_t n_tiles = int64_t{in.tiles_x} * in.tiles_y;
  parallel_for(
      n_tiles,
      [&](int64_t tb, int64_t te) {
        for (int64_t tile = tb; tile < te; ++tile) {
          const TileRange r = tile_range(in, tile);
          for (int y = r.y0; y < r.y1; ++y)
            for (int x = r.x0; x < r.x1; ++x) {
              const T px = T(x) + T(0.5), py = T(y) + T(0.5);
              double trans = 1.0, c[3] = {0, 0, 0};
              int32_t last = -1;
              for (int64_t i = r.begin; i < r.end; ++i) {
                const int32_t g = in.flatten_ids[i];
                const Weight<T> w = eval_weight(in.conics + 3 * g, in.means2d[2 * g] - px,
                                                in.means2d[2 * g + 1] - py, in.opacities[g]);
                if (!w.valid) continue;
                const double next_t = trans * (1.0 - double(w.alpha));
                if (next_t <= kTransmittanceThreshold) break;  // saturated, exclusive of this Gaussian
                const double vis = double(w.alpha) * trans;
                for (int k = 0; k < 3; ++k) c[k] += double(in.colors[3 * g + k]) * vis;
                last = static_cast<int32_t>(i);
                trans = next_t;
              }
              const int64_t pix = int64_t{y} * in.width + x;
              for (int k = 0; k < 3; ++k) out_colors[3 * pix + k] = T(c[k] + trans * double(in.background[k]));
              out_alphas[pix] = T(1.0 - trans);
              last_ids[pix] = last;
            }
        }
      },
      4);
}

template <typename T>
void rasterize_backward_cpu(const RasterInputs<T>& in, const T* render_alphas, const int32_t* last_ids,
                            const T* v_render_colors, const T* v_render_alphas, int64_t n_gaussians,
                            T* v_means2d, T* v_means2d_abs, T* v_conics, T* v_colors, T* v_opacities) {
  const int64_t n_tiles = int64_t{in.tiles_x} * in.tiles_y;
  // per-intersection gradient slots: each (tile, Gaussian) pair is written by its tile's thread only
  std::vector<double> isect_grads(static_cast<size_t>(in.n_isects) * kGradSlots, 0.0);
  parallel_for(
      n_tiles,
      [&](int64_t tb, int64_t te) {
        for (int64_t tile = tb; tile < te; ++tile) {
          const TileRange r = tile_range(in, tile);
          for (int y = r.y0; y < r.y1; ++y)
            for (int x = r.x0; x < r.x1; ++x) {
              const int64_t pix = int64_t{y} * in.width + x;
              const int64_t last = std::min<int64_t>(last_ids[pix], r.end - 1);
              if (last < r.begin) continue;
              const T px = T(x) + T(0.5), py = T(y) + T(0.5);
              const double t_final = 1.0 - double(render_alphas[pix]);
              double v_c[3], bg_dot = 0;
              for (int k = 0; k < 3; ++k) {
                v_c[k] = v_render_colors[3 * pix + k];
                bg_dot += double(in.background[k]) * v_c[k];
              }
              const double v_a = v_render_alphas ? double(v_render_alphas[pix]) : 0.0;
              double trans = t_final, buffer[3] = {0, 0, 0};  // buffer = colour composited behind i
              for (int64_t i = last; i >= r.begin; --i) {
                const int32_t g = in.flatten_ids[i];
                const T* conic = in.conics + 3 * g;
                const T dx = in.means2d[2 * g] - px, dy = in.means2d[2 * g + 1] - py;
                const T opac = in.opacities[g];
                const Weight<T> w = eval_weight(conic, dx, dy, opac);
                if (!w.valid) continue;
                const double alpha = w.alpha, vis = w.vis;
                const double ra = 1.0 / std::max(double(kMinOneMinusAlpha), 1.0 - alpha);
                trans *= ra;  // T_i: transmittance in front of Gaussian i
                const double fac = alpha * trans;
                double* s = &isect_grads[static_cast<size_t>(i) * kGradSlots];
                // dC/dalpha_i = c_i T_i - (sum_{j>i} c_j a_j T_j) / (1 - a_i); plus the alpha and background terms
                double v_alpha = 0;
                for (int k = 0; k < 3; ++k) {
                  const double rgb = in.colors[3 * g + k];
                  s[7 + k] += fac * v_c[k];
                  v_alpha += (rgb * trans - buffer[k] * ra) * v_c[k];
                  buffer[k] += rgb * fac;
                }
                v_alpha += t_final * ra * (v_a - bg_dot);
                if (double(opac) * vis <= double(kMaxAlpha)) {  // not clamped: alpha = o exp(-sigma)
                  const double v_sigma = -double(opac) * vis * v_alpha;
                  const double ddx = dx, ddy = dy;
                  const double gx = v_sigma * (double(conic[0]) * ddx + double(conic[1]) * ddy);
                  const double gy = v_sigma * (double(conic[1]) * ddx + double(conic[2]) * ddy);
                  s[0] += gx;
                  s[1] += gy;
                  s[2] += std::abs(gx);
                  s[3] += std::abs(gy);
                  s[4] += 0.5 * v_sigma * ddx * ddx;
                  s[5] += v_sigma * ddx * ddy;
                  s[6] += 0.5 * v_sigma * ddy * ddy;
                  s[10] += vis * v_alpha;
                }
              }
            }
        }
      },
      4);
  std::vector<double> acc(static_cast<size_t>(n_gaussians) * kGradSlots, 0.0);
  for (int64_t i = 0; i < in.n_isects; ++i) {
    const double* s = &isect_grads[static_cast<size_t>(i) * kGradSlots];
    double* a = &acc[static_cast<size_t>(in.flatten_ids[i]) * kGradSlots];
    for (int k = 0; k < kGradSlots; ++k) a[k] += s[k];
  }
  for (int64_t g = 0; g < n_gaussians; ++g) {
    const double* a = &acc[static_cast<size_t>(g) * kGradSlots];
    v_means2d[2 * g] = T(a[0]);
    v_means2d[2 * g + 1] = T(a[1]);
    if (v_means2d_abs) {
      v_means2d_abs[2 * g] = T(a[2]);
      v_means2d_abs[2 * g + 1] = T(a[3]);
    }
    for (int k = 0; k < 3; ++k) {
      v_conics[3 * g + k] = T(a[4 + k]);
      v_colors[3 * g + k] = T(a[7 + k]);
    }
    v_opacities[g] = T(a[10]);
  }
}

#define VG_INSTANTIATE(T)                                                                                     \
  template void rasterize_forward_cpu<T>(const RasterInputs<T>&, T*, T*, int32_t*);                          \
  template void rasterize_backward_cpu<T>(const RasterInputs<T>&, const T*, const int32_t*, const T*, const T*, \
                                          int64_t, T*, T*, T*, T*, T*);
VG_INSTANTIATE(float)
VG_INSTANTIATE(double)
#undef VG_INSTANTIATE

}  // namespace vg
