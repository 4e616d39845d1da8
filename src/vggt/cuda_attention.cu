// Fused softmax attention for VGGT's frame attention (B = frames, N = tokens per frame) and global attention
// (B = 1, N = all tokens): the exact fp32 kernel (FlashAttention's online softmax, Dao et al. 2022, one thread per
// query row) and the dispatch to the 16-bit tensor-core kernel of cuda_flash_attention.cu. Plus the preparation
// kernel: per-head q/k LayerNorm and 2-D RoPE, writing q, k, v in the attention's input type.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cfloat>

#include "core/cuda_check.h"
#include "core/error.h"
#include "vggt/cuda_convert.cuh"
#include "vggt/cuda_flash_attention.h"
#include "vggt/cuda_ops.h"

namespace vg::vggt::cuda {

namespace {

// ---- fp32: one thread per query row (q and the output row in registers), 32-key K/V tiles in shared memory.
constexpr int kF32Rows = 64, kF32Keys = 32;

template <int D>
__global__ void __launch_bounds__(kF32Rows) attention_f32_kernel(const float* __restrict__ q, const float* __restrict__ k,
                                                                 const float* __restrict__ v, float* __restrict__ out,
                                                                 int H, int64_t N, float scale) {
  __shared__ float Ks[kF32Keys][D];
  __shared__ float Vs[kF32Keys][D];
  const int64_t bh = blockIdx.y, row = static_cast<int64_t>(blockIdx.x) * kF32Rows + threadIdx.x;
  const bool active = row < N;
  const float* qb = q + bh * N * D;
  const float* kb = k + bh * N * D;
  const float* vb = v + bh * N * D;
  float qr[D], o[D];
  for (int d = 0; d < D; ++d) qr[d] = active ? qb[row * D + d] * scale : 0.0f, o[d] = 0.0f;
  float m = -FLT_MAX, l = 0.0f;
  for (int64_t j0 = 0; j0 < N; j0 += kF32Keys) {
    __syncthreads();
    for (int e = threadIdx.x; e < kF32Keys * D; e += kF32Rows) {
      const int64_t j = j0 + e / D;
      Ks[e / D][e % D] = j < N ? kb[j * D + e % D] : 0.0f;
      Vs[e / D][e % D] = j < N ? vb[j * D + e % D] : 0.0f;
    }
    __syncthreads();
    const int nk = static_cast<int>(N - j0 < kF32Keys ? N - j0 : kF32Keys);
    float s[kF32Keys];
    float tmax = -FLT_MAX;
    for (int j = 0; j < nk; ++j) {
      float acc = 0.0f;
#pragma unroll
      for (int d = 0; d < D; ++d) acc = fmaf(qr[d], Ks[j][d], acc);
      s[j] = acc;
      tmax = fmaxf(tmax, acc);
    }
    const float m_new = fmaxf(m, tmax), alpha = expf(m - m_new);
    l *= alpha;
#pragma unroll
    for (int d = 0; d < D; ++d) o[d] *= alpha;
    for (int j = 0; j < nk; ++j) {
      const float p = expf(s[j] - m_new);
      l += p;
#pragma unroll
      for (int d = 0; d < D; ++d) o[d] = fmaf(p, Vs[j][d], o[d]);
    }
    m = m_new;
  }
  if (!active) return;
  const int64_t b = bh / H, h = bh % H;
  float* dst = out + (b * N + row) * H * D + h * D;
  const float inv = 1.0f / l;
  for (int d = 0; d < D; ++d) dst[d] = o[d] * inv;
}

template <int D>
void launch_f32(const float* q, const float* k, const float* v, float* out, int64_t B, int H, int64_t N) {
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  VG_CHECK(B * H < 65536, "flash_attention: ", B * H, " (batch x heads) exceeds the grid limit");
  dim3 grid(static_cast<unsigned>((N + kF32Rows - 1) / kF32Rows), static_cast<unsigned>(B * H));
  attention_f32_kernel<D><<<grid, kF32Rows>>>(q, k, v, out, H, N, scale);
  VG_CUDA_CHECK_LAUNCH();
}


// One warp per (token, head): LayerNorm of the q / k head vectors, RoPE from the (cos, sin) table, and the
// [B,N,3C] -> [B*H,N,D] transpose, stored as T (fp32, or the 16-bit type the tensor-core attention reads). The
// head vector is staged in shared memory for the RoPE pairing.
template <typename T>
__global__ void attention_prep_kernel(const float* __restrict__ qkv, int64_t B, int64_t N, int H, int D,
                                      const float* qw, const float* qb, const float* kw, const float* kb,
                                      const int32_t* __restrict__ pos, const float* __restrict__ rope_cs, T* q, T* k,
                                      T* v) {
  extern __shared__ float stage[];  // [warps][D]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t item = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + warp;  // (b, n, h)
  if (item >= B * N * H) return;
  const int h = static_cast<int>(item % H);
  const int64_t bn = item / H, n = bn % N, b = bn / N;
  const int64_t C = static_cast<int64_t>(H) * D;
  float* buf = stage + warp * D;
  const int64_t dst_off = ((b * H + h) * N + n) * D;
  for (int which = 0; which < 3; ++which) {
    const float* src = qkv + bn * 3 * C + which * C + static_cast<int64_t>(h) * D;
    T* dst = (which == 0 ? q : which == 1 ? k : v) + dst_off;
    if (which == 2) {
      for (int d = lane; d < D; d += 32) dst[d] = from_f32<T>(src[d]);
      continue;
    }
    const float* w = which == 0 ? qw : kw;
    const float* bb = which == 0 ? qb : kb;
    float sum = 0.0f;
    for (int d = lane; d < D; d += 32) sum += src[d];
    for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    const float mean = sum / D;
    float var = 0.0f;
    for (int d = lane; d < D; d += 32) var += (src[d] - mean) * (src[d] - mean);
    for (int o = 16; o > 0; o /= 2) var += __shfl_xor_sync(0xffffffffu, var, o);
    const float inv = rsqrtf(var / D + 1e-5f);
    for (int d = lane; d < D; d += 32) {
      float x = src[d];
      if (w) x = (x - mean) * inv * w[d] + (bb ? bb[d] : 0.0f);
      buf[d] = x;
    }
    __syncwarp();
    if (!pos) {
      for (int d = lane; d < D; d += 32) dst[d] = from_f32<T>(buf[d]);
    } else {
      const int fd = D / 2, hp = fd / 2;  // features per axis, pairs per axis (rope.py)
      for (int d = lane; d < D; d += 32) {
        const int axis = d / fd, j = d % fd, pair = j % hp;
        const int p = pos[2 * n + axis];
        const float c = rope_cs[(static_cast<int64_t>(p) * hp + pair) * 2], s = rope_cs[(static_cast<int64_t>(p) * hp + pair) * 2 + 1];
        const float* f = buf + axis * fd;
        dst[d] = from_f32<T>(j < hp ? f[j] * c - f[j + hp] * s : f[j] * c + f[j - hp] * s);
      }
    }
    __syncwarp();
  }
}

// Two adjacent elements in the output type (one 4- or 8-byte store).
template <typename T>
__device__ __forceinline__ void store2(T* p, float a, float b);
template <>
__device__ __forceinline__ void store2<float>(float* p, float a, float b) { *reinterpret_cast<float2*>(p) = make_float2(a, b); }
template <>
__device__ __forceinline__ void store2<__half>(__half* p, float a, float b) {
  *reinterpret_cast<__half2*>(p) = __floats2half2_rn(a, b);
}
template <>
__device__ __forceinline__ void store2<__nv_bfloat16>(__nv_bfloat16* p, float a, float b) {
  *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(a, b);
}

// attention_prep for D = 64 (VGGT-1B): one warp per (b, n, h), lane l holds elements 2l, 2l + 1 in registers
// (one 8-byte load per tensor); the LayerNorm statistics by warp shuffles, and RoPE's partner element (feature
// j +- D/4 of the same axis) is lane l ^ 8, so nothing is staged in shared memory.
template <typename T>
__global__ void attention_prep64_kernel(const float* __restrict__ qkv, int64_t B, int64_t N, int H, const float* qw,
                                        const float* qb, const float* kw, const float* kb,
                                        const int32_t* __restrict__ pos, const float* __restrict__ rope_cs, T* q, T* k,
                                        T* v) {
  constexpr int D = 64, fd = D / 2, hp = fd / 2;  // features per axis, pairs per axis (rope.py)
  const int lane = threadIdx.x % 32;
  const int64_t item = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;  // (b, n, h)
  if (item >= B * N * H) return;
  const int h = static_cast<int>(item % H);
  const int64_t bn = item / H, n = bn % N, b = bn / N;
  const int64_t C = static_cast<int64_t>(H) * D;
  const int64_t dst_off = ((b * H + h) * N + n) * D + 2 * lane;
  const int d = 2 * lane, axis = d / fd, j = d % fd, pair = j % hp;
  float c0 = 1, s0 = 0, c1 = 1, s1 = 0;
  if (pos) {
    const float4 cs = *reinterpret_cast<const float4*>(rope_cs + (static_cast<int64_t>(pos[2 * n + axis]) * hp + pair) * 2);
    c0 = cs.x, s0 = cs.y, c1 = cs.z, s1 = cs.w;
  }
  for (int which = 0; which < 3; ++which) {
    const float2 x = *reinterpret_cast<const float2*>(qkv + bn * 3 * C + which * C + static_cast<int64_t>(h) * D + d);
    T* dst = (which == 0 ? q : which == 1 ? k : v) + dst_off;
    if (which == 2) {
      store2<T>(dst, x.x, x.y);
      continue;
    }
    const float* w = which == 0 ? qw : kw;
    const float* bb = which == 0 ? qb : kb;
    float a0 = x.x, a1 = x.y;
    if (w) {
      float sum = a0 + a1;
      for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      const float mean = sum / D;
      float var = (a0 - mean) * (a0 - mean) + (a1 - mean) * (a1 - mean);
      for (int o = 16; o > 0; o /= 2) var += __shfl_xor_sync(0xffffffffu, var, o);
      const float inv = rsqrtf(var / D + 1e-5f);
      a0 = (a0 - mean) * inv * w[d] + (bb ? bb[d] : 0.0f);
      a1 = (a1 - mean) * inv * w[d + 1] + (bb ? bb[d + 1] : 0.0f);
    }
    if (pos) {  // first half of an axis: f c - f[j + hp] s; second half: f c + f[j - hp] s
      const float p0 = __shfl_xor_sync(0xffffffffu, a0, hp / 2), p1 = __shfl_xor_sync(0xffffffffu, a1, hp / 2);
      const float sg = j < hp ? -1.0f : 1.0f;
      a0 = a0 * c0 + sg * p0 * s0;
      a1 = a1 * c1 + sg * p1 * s1;
    }
    store2<T>(dst, a0, a1);
  }
}

template <typename T>
void launch_prep64(const float* qkv, int64_t B, int64_t N, int H, const float* qw, const float* qb, const float* kw,
                   const float* kb, const int32_t* pos, const float* rope_cs, void* q, void* k, void* v) {
  constexpr int warps = 8;
  attention_prep64_kernel<T><<<grid_for(B * N * H, warps), warps * 32>>>(
      qkv, B, N, H, qw, qb, kw, kb, pos, rope_cs, static_cast<T*>(q), static_cast<T*>(k), static_cast<T*>(v));
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace

void flash_attention(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N, int D,
                     Precision p) {
  if (p != Precision::F32) return flash_attention_tc(q, k, v, out, B, H, N, D, p);
  const float *qf = static_cast<const float*>(q), *kf = static_cast<const float*>(k), *vf = static_cast<const float*>(v);
  switch (D) {
    case 16: launch_f32<16>(qf, kf, vf, out, B, H, N); break;
    case 32: launch_f32<32>(qf, kf, vf, out, B, H, N); break;
    case 64: launch_f32<64>(qf, kf, vf, out, B, H, N); break;
    case 128: launch_f32<128>(qf, kf, vf, out, B, H, N); break;
    default: VG_FAIL("flash_attention: head dim ", D, " unsupported (16, 32, 64, 128)");
  }
}

void attention_prep(const float* qkv, int64_t B, int64_t N, int H, int D, const float* qw, const float* qb,
                    const float* kw, const float* kb, const int32_t* pos, const float* rope_cs, void* q, void* k,
                    void* v, Precision p) {
  const int64_t items = B * N * H;
  if (items == 0) return;
  if (D == 64) {
    if (p == Precision::F32) launch_prep64<float>(qkv, B, N, H, qw, qb, kw, kb, pos, rope_cs, q, k, v);
    else if (p == Precision::BF16) launch_prep64<__nv_bfloat16>(qkv, B, N, H, qw, qb, kw, kb, pos, rope_cs, q, k, v);
    else launch_prep64<__half>(qkv, B, N, H, qw, qb, kw, kb, pos, rope_cs, q, k, v);
    return;
  }
  constexpr int warps = 8;
  const unsigned grid = grid_for(items, warps), block = warps * 32;
  const size_t smem = warps * D * sizeof(float);
  if (p == Precision::F32)
    attention_prep_kernel<float><<<grid, block, smem>>>(qkv, B, N, H, D, qw, qb, kw, kb, pos, rope_cs,
                                                        static_cast<float*>(q), static_cast<float*>(k),
                                                        static_cast<float*>(v));
  else if (p == Precision::BF16)
    attention_prep_kernel<__nv_bfloat16><<<grid, block, smem>>>(qkv, B, N, H, D, qw, qb, kw, kb, pos, rope_cs,
                                                                static_cast<__nv_bfloat16*>(q),
                                                                static_cast<__nv_bfloat16*>(k),
                                                                static_cast<__nv_bfloat16*>(v));
  else
    attention_prep_kernel<__half><<<grid, block, smem>>>(qkv, B, N, H, D, qw, qb, kw, kb, pos, rope_cs,
                                                         static_cast<__half*>(q), static_cast<__half*>(k),
                                                         static_cast<__half*>(v));
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace vg::vggt::cuda
