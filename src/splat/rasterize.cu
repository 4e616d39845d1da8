// CUDA tile rasterizer (gsplat rasterize_to_pixels, 3DGS, one camera), forward and backward.
// One 16x16 block per tile in the forward, one pixel per thread; the tile's Gaussians are staged through shared
// memory in batches of 256 (mean+opacity, conic, colour as float4 broadcasts).
//   forward : front to back, C += c_i a_i T_i, T_{i+1} = T_i (1 - a_i), stop before T <= 1e-4. After each batch
//             ("chunk") every pixel's T and accumulated colour are stored (chunk_state).
//   backward: one block per chunk, so that a tile with thousands of Gaussians is spread over many blocks instead
//             of one (the load balance of a single wave of tiles is otherwise set by the busiest tile). Each block
//             starts from its chunk's stored state: T after the chunk, and the colour composited behind it
//             (final - after); back to front, T_i = T_{i+1} / (1 - a_i); per-Gaussian gradients are summed over
//             the 32 pixels of a warp with shuffles, then one atomicAdd per warp (none of that where a single
//             pixel of the warp sees the Gaussian: that lane adds its own).
#include <algorithm>

#include <cub/block/block_scan.cuh>

#include "core/cuda_check.h"
#include "splat/rasterize_internal.h"

namespace vg {
namespace {

constexpr int kThreads = kTileSize * kTileSize;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kUnroll = 4;  // forward: Gaussians evaluated together

struct RasterParams {
  int width, height, tiles_x, n_tiles, n_isects;
  float bg[3];
};

struct TileSetup {
  int x, y;        // this thread's pixel
  bool inside;     // pixel inside the image
  int begin, end;  // the tile's range in flatten_ids
};

__device__ __forceinline__ TileSetup tile_setup(int tile, const int32_t* __restrict__ tile_offsets,
                                                const RasterParams& p) {
  TileSetup s;
  s.x = (tile % p.tiles_x) * kTileSize + static_cast<int>(threadIdx.x % kTileSize);
  s.y = (tile / p.tiles_x) * kTileSize + static_cast<int>(threadIdx.x / kTileSize);
  s.inside = s.x < p.width && s.y < p.height;
  s.begin = tile_offsets[tile];
  s.end = tile + 1 < p.n_tiles ? tile_offsets[tile + 1] : p.n_isects;
  return s;
}

// Shared-memory batch of the tile's Gaussians.
struct Batch {
  float4 mean_opac[kThreads];  // x, y, opacity, -
  float4 conic[kThreads];      // a, b, c, -
  float4 rgb[kThreads];        // r, g, b, -
  int32_t id[kThreads];
};

__device__ __forceinline__ void load_gaussian(Batch& b, int slot, int32_t g, const float2* __restrict__ means2d,
                                              const float* __restrict__ conics, const float* __restrict__ colors,
                                              const float* __restrict__ opacities) {
  const float2 m = means2d[g];
  b.mean_opac[slot] = make_float4(m.x, m.y, opacities[g], 0.f);
  b.conic[slot] = make_float4(conics[3 * g], conics[3 * g + 1], conics[3 * g + 2], 0.f);
  b.rgb[slot] = make_float4(colors[3 * g], colors[3 * g + 1], colors[3 * g + 2], 0.f);
  b.id[slot] = g;
}

// sigma = 0.5 (a dx^2 + c dy^2) + b dx dy, (dx, dy) = mean - pixel; alpha = min(0.99, o exp(-sigma)).
// Returns false when the Gaussian is skipped (sigma < 0 or alpha < 1/255). Shared by both passes so
// they make identical decisions.
__device__ __forceinline__ bool eval_weight(const float4& q, float dx, float dy, float opac, float& vis,
                                            float& alpha) {
  const float sigma = 0.5f * (q.x * dx * dx + q.z * dy * dy) + q.y * dx * dy;
  vis = __expf(-sigma);
  alpha = fminf(kMaxAlpha, opac * vis);
  return !(sigma < 0.f || alpha < kAlphaThreshold);
}

__global__ void __launch_bounds__(kThreads)
    rasterize_fwd_kernel(const float2* __restrict__ means2d, const float* __restrict__ conics,
                         const float* __restrict__ colors, const float* __restrict__ opacities,
                         const int32_t* __restrict__ tile_offsets, const int32_t* __restrict__ flatten_ids,
                         RasterParams p, float* __restrict__ out_colors, float* __restrict__ out_alphas,
                         int32_t* __restrict__ last_ids, const int32_t* __restrict__ chunk_base,
                         float4* __restrict__ chunk_state) {
  __shared__ Batch batch;
  const TileSetup s = tile_setup(blockIdx.x, tile_offsets, p);
  const int tr = threadIdx.x;
  const float px = s.x + 0.5f, py = s.y + 0.5f;
  float T = 1.f, c0 = 0.f, c1 = 0.f, c2 = 0.f;
  int32_t last = -1;
  bool done = !s.inside;
  bool tile_done = false;  // block-uniform: every pixel saturated, only the chunk states are left to write
  float4* state = chunk_state + static_cast<size_t>(chunk_base[blockIdx.x]) * kThreads + tr;
  for (int start = s.begin; start < s.end; start += kThreads, state += kThreads) {
    // barrier before overwriting the batch; the whole tile stops once every pixel saturated
    if (!tile_done && __syncthreads_count(done) == kThreads) tile_done = true;
    if (!tile_done) {
      if (start + tr < s.end) load_gaussian(batch, tr, flatten_ids[start + tr], means2d, conics, colors, opacities);
      __syncthreads();
      const int count = min(kThreads, s.end - start);
      // kUnroll Gaussians at a time: their weights are independent (issued together), then composited in order,
      // so only the transmittance product stays a serial chain
      for (int t0 = 0; t0 < count && !done; t0 += kUnroll) {
        float alpha[kUnroll];
        bool hit[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int t = min(t0 + u, count - 1);
          const float4 m = batch.mean_opac[t];
          float vis;
          hit[u] = eval_weight(batch.conic[t], m.x - px, m.y - py, m.z, vis, alpha[u]) && t0 + u < count;
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          if (!hit[u]) continue;
          const float next_T = T * (1.f - alpha[u]);
          if (next_T <= kTransmittanceThreshold) {  // saturated: exclusive of this Gaussian
            done = true;
            break;
          }
          const float4 c = batch.rgb[t0 + u];
          const float w = alpha[u] * T;
          c0 += c.x * w;
          c1 += c.y * w;
          c2 += c.z * w;
          last = start + t0 + u;
          T = next_T;
        }
      }
    }
    *state = make_float4(T, c0, c1, c2);
  }
  if (!s.inside) return;
  const int pix = s.y * p.width + s.x;
  out_colors[3 * pix] = c0 + T * p.bg[0];
  out_colors[3 * pix + 1] = c1 + T * p.bg[1];
  out_colors[3 * pix + 2] = c2 + T * p.bg[2];
  out_alphas[pix] = 1.f - T;
  last_ids[pix] = last;
}

// chunk_base[t] = number of chunks (ceil(list length / kThreads)) of the tiles before t; chunk_base[n_tiles] = all.
// One block: a block-wide scan per 1024 tiles with a running carry.
__global__ void __launch_bounds__(1024) chunk_base_kernel(const int32_t* __restrict__ tile_offsets, int n_tiles,
                                                          int n_isects, int32_t* __restrict__ chunk_base) {
  using Scan = cub::BlockScan<int, 1024>;
  __shared__ typename Scan::TempStorage tmp;
  int carry = 0;
  for (int base = 0; base < n_tiles; base += 1024) {
    const int t = base + static_cast<int>(threadIdx.x);
    int chunks = 0;
    if (t < n_tiles) {
      const int end = t + 1 < n_tiles ? tile_offsets[t + 1] : n_isects;
      chunks = (end - tile_offsets[t] + kThreads - 1) / kThreads;
    }
    int before = 0, total = 0;
    Scan(tmp).ExclusiveSum(chunks, before, total);
    if (t < n_tiles) chunk_base[t] = carry + before;
    carry += total;
    __syncthreads();  // tmp is reused
  }
  if (threadIdx.x == 0) chunk_base[n_tiles] = carry;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(kFullMask, v, o);
  return v;  // complete on lane 0
}

__device__ __forceinline__ int warp_max(int v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

struct BwdOut {
  float* v_means2d;      // [N,2]
  float* v_means2d_abs;  // [N,2] or null
  float* v_conics;       // [N,3]
  float* v_colors;       // [N,3]
  float* v_opacities;    // [N]
};

// Gaussian g's share of this warp's pixels (one lane's, or the warp's sums) added to the gradients.
__device__ __forceinline__ void add_gaussian_grads(const BwdOut& out, int32_t g, float g_x, float g_y, float g_a,
                                                   float g_b, float g_c, float g_r, float g_g, float g_bl, float g_o,
                                                   float g_ax, float g_ay) {
  atomicAdd(out.v_means2d + 2 * g, g_x);
  atomicAdd(out.v_means2d + 2 * g + 1, g_y);
  atomicAdd(out.v_conics + 3 * g, g_a);
  atomicAdd(out.v_conics + 3 * g + 1, g_b);
  atomicAdd(out.v_conics + 3 * g + 2, g_c);
  atomicAdd(out.v_colors + 3 * g, g_r);
  atomicAdd(out.v_colors + 3 * g + 1, g_g);
  atomicAdd(out.v_colors + 3 * g + 2, g_bl);
  atomicAdd(out.v_opacities + g, g_o);
  if (out.v_means2d_abs) {
    atomicAdd(out.v_means2d_abs + 2 * g, g_ax);
    atomicAdd(out.v_means2d_abs + 2 * g + 1, g_ay);
  }
}

__global__ void __launch_bounds__(kThreads)
    rasterize_bwd_kernel(const float2* __restrict__ means2d, const float* __restrict__ conics,
                         const float* __restrict__ colors, const float* __restrict__ opacities,
                         const int32_t* __restrict__ tile_offsets, const int32_t* __restrict__ flatten_ids,
                         RasterParams p, const int32_t* __restrict__ last_ids,
                         const int32_t* __restrict__ chunk_base, const float4* __restrict__ chunk_state,
                         const float* __restrict__ v_render_colors, const float* __restrict__ v_render_alphas,
                         BwdOut out) {
  __shared__ Batch batch;
  __shared__ int block_last;
  // this block's chunk belongs to the last tile t with chunk_base[t] <= chunk (empty tiles own none)
  const int chunk = blockIdx.x;
  if (chunk >= chunk_base[p.n_tiles]) return;
  int lo = 0, hi = p.n_tiles - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (chunk_base[mid] <= chunk) lo = mid;
    else hi = mid - 1;
  }
  const int tile = lo;
  const TileSetup s = tile_setup(tile, tile_offsets, p);
  const int chunk_begin = s.begin + (chunk - chunk_base[tile]) * kThreads;
  const int tr = threadIdx.x, lane = tr & 31;
  const float px = s.x + 0.5f, py = s.y + 0.5f;
  const int pix = s.inside ? s.y * p.width + s.x : 0;
  const int bin_final = s.inside ? last_ids[pix] : -1;

  // intersections after the tile's (and the warp's) last contributor touch no pixel here: skip them
  if (tr == 0) block_last = -1;
  __syncthreads();
  const int warp_last = warp_max(bin_final);
  if (lane == 0 && warp_last >= 0) atomicMax(&block_last, warp_last);
  __syncthreads();
  const int stop = min(min(s.end, chunk_begin + kThreads), block_last + 1);
  if (stop <= chunk_begin) return;  // block-uniform

  float v_c[3] = {0.f, 0.f, 0.f}, v_a = 0.f;
  if (s.inside) {
    for (int k = 0; k < 3; ++k) v_c[k] = v_render_colors[3 * pix + k];
    if (v_render_alphas) v_a = v_render_alphas[pix];
  }
  // the pixel after this chunk and at the end of the tile (its last chunk), as the forward left them
  const float4 after = chunk_state[static_cast<size_t>(chunk) * kThreads + tr];
  const float4 fin = chunk_state[static_cast<size_t>(chunk_base[tile + 1] - 1) * kThreads + tr];
  // dC/dT_final terms of every alpha: T_final (v_alpha - <bg, v_c>) / (1 - a_i)
  const float final_term = fin.x * (v_a - (p.bg[0] * v_c[0] + p.bg[1] * v_c[1] + p.bg[2] * v_c[2]));
  // buf = colour composited behind the current Gaussian
  float T = after.x, buf0 = fin.y - after.y, buf1 = fin.z - after.z, buf2 = fin.w - after.w;

  // slot t holds intersection stop - 1 - t (back to front)
  if (stop - 1 - tr >= chunk_begin)
    load_gaussian(batch, tr, flatten_ids[stop - 1 - tr], means2d, conics, colors, opacities);
  __syncthreads();
  const int count = stop - chunk_begin;
  for (int t = max(0, stop - 1 - warp_last); t < count; ++t) {  // warp-uniform bounds
    const float4 m = batch.mean_opac[t];
    const float4 q = batch.conic[t];
    const float dx = m.x - px, dy = m.y - py, opac = m.z;
    float vis = 0.f, alpha = 0.f;
    bool valid = stop - 1 - t <= bin_final;
    if (valid) valid = eval_weight(q, dx, dy, opac, vis, alpha);
    const unsigned valid_lanes = __ballot_sync(kFullMask, valid);
    if (valid_lanes == 0) continue;
    const bool one_lane = (valid_lanes & (valid_lanes - 1)) == 0;  // then no reduction: that lane adds its own
    float g_x = 0.f, g_y = 0.f, g_a = 0.f, g_b = 0.f, g_c = 0.f, g_r = 0.f, g_g = 0.f, g_bl = 0.f, g_o = 0.f;
    if (valid) {
      const float ra = 1.f / fmaxf(kMinOneMinusAlpha, 1.f - alpha);
      T *= ra;  // T_i, transmittance in front of this Gaussian
      const float fac = alpha * T;
      const float4 c = batch.rgb[t];
      g_r = fac * v_c[0];
      g_g = fac * v_c[1];
      g_bl = fac * v_c[2];
      // dC/dalpha_i = c_i T_i - buf / (1 - a_i)  (3DGS blending, gsplat backward)
      const float v_alpha = (c.x * T - buf0 * ra) * v_c[0] + (c.y * T - buf1 * ra) * v_c[1] +
                            (c.z * T - buf2 * ra) * v_c[2] + final_term * ra;
      if (opac * vis <= kMaxAlpha) {  // alpha not clamped
        const float v_sigma = -opac * vis * v_alpha;
        g_a = 0.5f * v_sigma * dx * dx;
        g_b = v_sigma * dx * dy;
        g_c = 0.5f * v_sigma * dy * dy;
        g_x = v_sigma * (q.x * dx + q.y * dy);
        g_y = v_sigma * (q.y * dx + q.z * dy);
        g_o = vis * v_alpha;
      }
      buf0 += c.x * fac;
      buf1 += c.y * fac;
      buf2 += c.z * fac;
    }
    float g_ax = fabsf(g_x), g_ay = fabsf(g_y);
    if (one_lane) {
      if (valid) add_gaussian_grads(out, batch.id[t], g_x, g_y, g_a, g_b, g_c, g_r, g_g, g_bl, g_o, g_ax, g_ay);
      continue;
    }
    g_x = warp_sum(g_x);
    g_y = warp_sum(g_y);
    g_a = warp_sum(g_a);
    g_b = warp_sum(g_b);
    g_c = warp_sum(g_c);
    g_r = warp_sum(g_r);
    g_g = warp_sum(g_g);
    g_bl = warp_sum(g_bl);
    g_o = warp_sum(g_o);
    if (out.v_means2d_abs) {  // uniform branch
      g_ax = warp_sum(g_ax);
      g_ay = warp_sum(g_ay);
    }
    if (lane == 0) add_gaussian_grads(out, batch.id[t], g_x, g_y, g_a, g_b, g_c, g_r, g_g, g_bl, g_o, g_ax, g_ay);
  }
}

RasterParams make_params(const std::array<float, 3>& background, const TileIntersections& isect, int width,
                         int height) {
  RasterParams p;
  p.width = width;
  p.height = height;
  p.tiles_x = isect.tiles_x;
  p.n_tiles = isect.tiles_x * isect.tiles_y;
  p.n_isects = static_cast<int>(isect.n_isects);
  for (int k = 0; k < 3; ++k) p.bg[k] = background[k];
  return p;
}

}  // namespace

RasterOut rasterize_forward_cuda(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                                 const Tensor& opacities, const std::array<float, 3>& background,
                                 const TileIntersections& isect, int width, int height) {
  const Device dev = means2d.device();
  RasterOut out;
  out.colors = Tensor::empty({height, width, 3}, DType::F32, dev);
  out.alphas = Tensor::empty({height, width}, DType::F32, dev);
  out.last_ids = Tensor::empty({height, width}, DType::I32, dev);
  const RasterParams p = make_params(background, isect, width, height);
  out.chunk_base = Tensor::empty({p.n_tiles + 1}, DType::I32, dev);
  chunk_base_kernel<<<1, 1024>>>(isect.tile_offsets.data<int32_t>(), p.n_tiles, p.n_isects,
                                 out.chunk_base.data<int32_t>());
  VG_CUDA_CHECK_LAUNCH();
  // at most one partial chunk per non-empty tile
  const int64_t max_chunks = isect.n_isects / kThreads + std::min<int64_t>(p.n_tiles, isect.n_isects);
  out.chunk_state = Tensor::empty({std::max<int64_t>(max_chunks, 1), kThreads, 4}, DType::F32, dev);
  rasterize_fwd_kernel<<<p.n_tiles, kThreads>>>(
      reinterpret_cast<const float2*>(means2d.data<float>()), conics.data<float>(), colors.data<float>(),
      opacities.data<float>(), isect.tile_offsets.data<int32_t>(), isect.flatten_ids.data<int32_t>(), p,
      out.colors.data<float>(), out.alphas.data<float>(), out.last_ids.data<int32_t>(),
      out.chunk_base.data<int32_t>(), reinterpret_cast<float4*>(out.chunk_state.data<float>()));
  VG_CUDA_CHECK_LAUNCH();
  return out;
}

RasterGrads rasterize_backward_cuda(const Tensor& means2d, const Tensor& conics, const Tensor& colors,
                                    const Tensor& opacities, const std::array<float, 3>& background,
                                    const TileIntersections& isect, int width, int height, const RasterOut& fwd,
                                    const Tensor& v_render_colors, const Tensor& v_render_alphas, bool absgrad) {
  const Device dev = means2d.device();
  const int64_t n = means2d.size(0);
  RasterGrads g;
  g.v_means2d = Tensor::zeros({n, 2}, DType::F32, dev);
  g.v_conics = Tensor::zeros({n, 3}, DType::F32, dev);
  g.v_colors = Tensor::zeros({n, 3}, DType::F32, dev);
  g.v_opacities = Tensor::zeros({n}, DType::F32, dev);
  if (absgrad) g.v_means2d_abs = Tensor::zeros({n, 2}, DType::F32, dev);
  if (isect.n_isects == 0) return g;
  BwdOut out{g.v_means2d.data<float>(), absgrad ? g.v_means2d_abs.data<float>() : nullptr,
             g.v_conics.data<float>(), g.v_colors.data<float>(), g.v_opacities.data<float>()};
  VG_CHECK(fwd.chunk_base.defined() && fwd.chunk_state.defined(),
           "rasterize_backward (CUDA): the forward's chunk states are missing (pass the RasterOut of a CUDA forward)");
  const RasterParams p = make_params(background, isect, width, height);
  rasterize_bwd_kernel<<<static_cast<unsigned>(fwd.chunk_state.size(0)), kThreads>>>(
      reinterpret_cast<const float2*>(means2d.data<float>()), conics.data<float>(), colors.data<float>(),
      opacities.data<float>(), isect.tile_offsets.data<int32_t>(), isect.flatten_ids.data<int32_t>(), p,
      fwd.last_ids.data<int32_t>(), fwd.chunk_base.data<int32_t>(),
      reinterpret_cast<const float4*>(fwd.chunk_state.data<float>()), v_render_colors.data<float>(),
      v_render_alphas.defined() ? v_render_alphas.data<float>() : nullptr, out);
  VG_CUDA_CHECK_LAUNCH();
  return g;
}

}  // namespace vg
