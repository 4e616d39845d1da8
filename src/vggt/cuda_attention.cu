// Fused softmax attention for VGGT's frame attention (B = frames, N = tokens per frame) and global attention
// (B = 1, N = all tokens): the exact fp32 kernel (FlashAttention's online softmax, Dao et al. 2022, one thread per
// query row) and the dispatch to the 16-bit tensor-core kernels (cuda_flash_attention.cu, and on sm_90a
// cuda_flash_attention_sm90.cu). Plus the preparation kernel: per-head q/k LayerNorm and 2-D RoPE, writing q, k, v in
// the attention's input type and layout.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cfloat>
#include <cstdlib>
#include <cstring>

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

// Element offset of (row n, feature d) of a D = 64 slice in layout l (cuda_ops.h): chunk d / 8 of row n moves to
// chunk (d / 8) ^ (n % 8) in kSwizzled128.
__device__ __forceinline__ int64_t offset64(int64_t n, int d, bool swizzled) {
  return n * 64 + (swizzled ? ((((d >> 3) ^ static_cast<int>(n & 7)) << 3) | (d & 7)) : d);
}

// attention_prep for D = 64 (VGGT-1B): one warp per (b, n, h), lane l holds elements 2l, 2l + 1 in registers
// (one 8-byte load per tensor); the LayerNorm statistics by warp shuffles, and RoPE's partner element (feature
// j +- D/4 of the same axis) is lane l ^ 8, so nothing is staged in shared memory. Np rows per slice (>= N):
// the rows past N are written as zeros.
template <typename T>
__global__ void attention_prep64_kernel(const float* __restrict__ qkv, int64_t B, int64_t N, int64_t Np, int H,
                                        bool swizzled, const float* qw, const float* qb, const float* kw,
                                        const float* kb, const int32_t* __restrict__ pos,
                                        const float* __restrict__ rope_cs, T* q, T* k, T* v) {
  constexpr int D = 64, fd = D / 2, hp = fd / 2;  // features per axis, pairs per axis (rope.py)
  const int lane = threadIdx.x % 32;
  const int64_t item = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;  // (b, n, h), n < Np
  if (item >= B * Np * H) return;
  const int h = static_cast<int>(item % H);
  const int64_t bnp = item / H, n = bnp % Np, b = bnp / Np, bn = b * N + n;
  const int64_t C = static_cast<int64_t>(H) * D;
  const int d = 2 * lane, axis = d / fd, j = d % fd, pair = j % hp;
  const int64_t dst_off = (b * H + h) * Np * D + offset64(n, d, swizzled);
  if (n >= N) {  // padding row
    store2<T>(q + dst_off, 0.0f, 0.0f);
    store2<T>(k + dst_off, 0.0f, 0.0f);
    store2<T>(v + dst_off, 0.0f, 0.0f);
    return;
  }
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
                   const float* kb, const int32_t* pos, const float* rope_cs, void* q, void* k, void* v, AttnLayout l) {
  constexpr int warps = 8;
  const int64_t Np = attention_rows(N, l);
  attention_prep64_kernel<T><<<grid_for(B * Np * H, warps), warps * 32>>>(
      qkv, B, N, Np, H, l == AttnLayout::kSwizzled128, qw, qb, kw, kb, pos, rope_cs, static_cast<T*>(q),
      static_cast<T*>(k), static_cast<T*>(v));
  VG_CUDA_CHECK_LAUNCH();
}

// attention_relayout: one thread per 16-byte chunk (8 elements) of the destination.
__global__ void relayout64_kernel(const uint4* __restrict__ src, uint4* __restrict__ dst, int64_t BH, int64_t N,
                                  int64_t Np) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // destination chunk
  if (i >= BH * Np * 8) return;
  const int64_t row = i / 8, bh = row / Np, n = row % Np;
  const int c = static_cast<int>(i % 8) ^ static_cast<int>(n & 7);  // the source chunk stored at this position
  dst[i] = n < N ? src[(bh * N + n) * 8 + c] : make_uint4(0, 0, 0, 0);
}

bool sm90_attention_enabled() {
  static const bool enabled = [] {
    if (!sm90_attention_built()) return false;
    const char* e = std::getenv("VGSPLAT_ATTENTION");
    if (e && std::strcmp(e, "fa2") == 0) return false;
    int dev = 0, major = 0, minor = 0;
    VG_CUDA_CHECK(cudaGetDevice(&dev));
    VG_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    VG_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
    return major == 9 && minor == 0;  // sm_90a code runs on 9.0 only
  }();
  return enabled;
}

}  // namespace

AttnLayout attention_layout(int D, Precision p) {
  return D == 64 && p != Precision::F32 && sm90_attention_enabled() ? AttnLayout::kSwizzled128 : AttnLayout::kRows;
}

void attention_relayout(const void* src, void* dst, int64_t BH, int64_t N, int D, AttnLayout l) {
  if (l == AttnLayout::kRows) {
    VG_CUDA_CHECK(cudaMemcpyAsync(dst, src, BH * N * D * 2, cudaMemcpyDeviceToDevice));
    return;
  }
  VG_CHECK(D == 64, "attention_relayout: the swizzled layout is for D = 64, not ", D);
  const int64_t chunks = BH * attention_rows(N, l) * 8;
  if (chunks == 0) return;
  relayout64_kernel<<<static_cast<unsigned>((chunks + 255) / 256), 256>>>(
      static_cast<const uint4*>(src), static_cast<uint4*>(dst), BH, N, attention_rows(N, l));
  VG_CUDA_CHECK_LAUNCH();
}

void flash_attention(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N, int D,
                     Precision p, AttnLayout l) {
  if (l == AttnLayout::kSwizzled128) {
    VG_CHECK(D == 64 && p != Precision::F32 && sm90_attention_enabled(),
             "flash_attention: the swizzled layout needs D = 64, 16 bit and the sm_90a kernel (D = ", D, ", ",
             precision_name(p), ")");
    return flash_attention_sm90(q, k, v, out, B, H, N, p);
  }
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
                    void* v, Precision p, AttnLayout l) {
  const int64_t items = B * N * H;
  if (items == 0) return;
  VG_CHECK(l == AttnLayout::kRows || (D == 64 && p != Precision::F32),
           "attention_prep: the swizzled layout is for D = 64 in 16 bit");
  if (D == 64) {
    if (p == Precision::F32) launch_prep64<float>(qkv, B, N, H, qw, qb, kw, kb, pos, rope_cs, q, k, v, l);
    else if (p == Precision::BF16) launch_prep64<__nv_bfloat16>(qkv, B, N, H, qw, qb, kw, kb, pos, rope_cs, q, k, v, l);
    else launch_prep64<__half>(qkv, B, N, H, qw, qb, kw, kb, pos, rope_cs, q, k, v, l);
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
