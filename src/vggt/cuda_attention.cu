// Fused softmax attention (FlashAttention, Dao et al. 2022: online softmax over key tiles held in shared
// memory, the N x N score matrix never stored) for VGGT's frame attention (B = frames, N = tokens per frame)
// and global attention (B = 1, N = all tokens). Plus the preparation kernel: per-head q/k LayerNorm and 2-D RoPE.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include <cfloat>

#include "core/cuda_check.h"
#include "core/error.h"
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

// ---- 16-bit tensor cores: 4 warps x 16 query rows, 64-key tiles. Per warp: S = Q K^T (fp32) in shared
// memory, online softmax by 2 lanes per row, P (16-bit) and the running output O (fp32, rescaled by
// exp(m_old - m_new) each tile) in shared memory, O += P V with WMMA.
constexpr int kTcRows = 64, kTcKeys = 64, kSLd = kTcKeys + 4, kPLd = kTcKeys + 8;

template <int D>
constexpr size_t tc_smem_bytes() {
  return 3 * kTcRows * (D + 8) * 2 + 4 * (16 * kSLd * 4 + 16 * kPLd * 2 + 16 * (D + 4) * 4);
}

template <typename T>
__device__ __forceinline__ T lowp(float v);
template <>
__device__ __forceinline__ __half lowp<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 lowp<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

template <typename T, int D>
__device__ __forceinline__ void attention_tc_body(const float* __restrict__ q, const float* __restrict__ k,
                                                  const float* __restrict__ v, float* __restrict__ out, int H,
                                                  int64_t N, float scale) {
  using namespace nvcuda;
  constexpr int ld = D + 8, old = D + 4;
  extern __shared__ __align__(128) unsigned char smem[];
  T* Qs = reinterpret_cast<T*>(smem);
  T* Ks = Qs + kTcRows * ld;
  T* Vs = Ks + kTcKeys * ld;
  unsigned char* wbase = reinterpret_cast<unsigned char*>(Vs + kTcKeys * ld);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  wbase += warp * (16 * kSLd * 4 + 16 * kPLd * 2 + 16 * old * 4);
  float* Sf = reinterpret_cast<float*>(wbase);
  T* Ps = reinterpret_cast<T*>(Sf + 16 * kSLd);
  float* Of = reinterpret_cast<float*>(Ps + 16 * kPLd);

  const int64_t bh = blockIdx.y, q0 = static_cast<int64_t>(blockIdx.x) * kTcRows;
  const float* qb = q + bh * N * D;
  const float* kb = k + bh * N * D;
  const float* vb = v + bh * N * D;
  for (int e = threadIdx.x; e < kTcRows * D; e += 128) {
    const int64_t i = q0 + e / D;
    Qs[(e / D) * ld + e % D] = lowp<T>(i < N ? qb[i * D + e % D] : 0.0f);
  }
  for (int e = lane; e < 16 * old; e += 32) Of[e] = 0.0f;
  const int r = lane / 2, half = lane % 2;  // this lane's row and column half
  float m = -FLT_MAX, l = 0.0f;
  for (int64_t j0 = 0; j0 < N; j0 += kTcKeys) {
    __syncthreads();
    for (int e = threadIdx.x; e < kTcKeys * D; e += 128) {
      const int64_t j = j0 + e / D;
      Ks[(e / D) * ld + e % D] = lowp<T>(j < N ? kb[j * D + e % D] : 0.0f);
      Vs[(e / D) * ld + e % D] = lowp<T>(j < N ? vb[j * D + e % D] : 0.0f);
    }
    __syncthreads();
    for (int jb = 0; jb < kTcKeys / 16; ++jb) {  // S = Q K^T
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> s;
      wmma::fill_fragment(s, 0.0f);
      for (int kk = 0; kk < D; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;
        wmma::load_matrix_sync(a, Qs + warp * 16 * ld + kk, ld);
        wmma::load_matrix_sync(b, Ks + jb * 16 * ld + kk, ld);
        wmma::mma_sync(s, a, b, s);
      }
      wmma::store_matrix_sync(Sf + jb * 16, s, kSLd, wmma::mem_row_major);
    }
    __syncwarp();
    const int valid = static_cast<int>(N - j0 < kTcKeys ? N - j0 : kTcKeys);
    float tmax = -FLT_MAX;
    for (int c = half * 32; c < half * 32 + 32; ++c)
      if (c < valid) tmax = fmaxf(tmax, Sf[r * kSLd + c] * scale);
    tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
    const float m_new = fmaxf(m, tmax), alpha = expf(m - m_new);
    float sum = 0.0f;
    for (int c = half * 32; c < half * 32 + 32; ++c) {
      const float p = c < valid ? expf(Sf[r * kSLd + c] * scale - m_new) : 0.0f;
      const T pl = lowp<T>(p);
      Ps[r * kPLd + c] = pl;
      sum += static_cast<float>(pl);  // normalise by what the P V product actually used
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * alpha + sum;
    m = m_new;
    for (int c = half * (D / 2); c < (half + 1) * (D / 2); ++c) Of[r * old + c] *= alpha;
    __syncwarp();
    for (int db = 0; db < D / 16; ++db) {  // O += P V
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> o;
      wmma::load_matrix_sync(o, Of + db * 16, old, wmma::mem_row_major);
      for (int kk = 0; kk < kTcKeys; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
        wmma::load_matrix_sync(a, Ps + kk, kPLd);
        wmma::load_matrix_sync(b, Vs + kk * ld + db * 16, ld);
        wmma::mma_sync(o, a, b, o);
      }
      wmma::store_matrix_sync(Of + db * 16, o, old, wmma::mem_row_major);
    }
    __syncwarp();
  }
  const int64_t row = q0 + warp * 16 + r;
  if (row >= N) return;
  const int64_t b = bh / H, h = bh % H;
  float* dst = out + (b * N + row) * H * D + h * D;
  const float inv = 1.0f / l;
  for (int c = half * (D / 2); c < (half + 1) * (D / 2); ++c) dst[c] = Of[r * old + c] * inv;
}

template <int D>
__global__ void __launch_bounds__(128) attention_bf16_kernel(const float* q, const float* k, const float* v, float* out,
                                                             int H, int64_t N, float scale) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  attention_tc_body<__nv_bfloat16, D>(q, k, v, out, H, N, scale);
#else
  __trap();  // bf16 tensor cores need sm_80; the host never launches this below sm_80
#endif
}

template <int D>
__global__ void __launch_bounds__(128) attention_f16_kernel(const float* q, const float* k, const float* v, float* out,
                                                            int H, int64_t N, float scale) {
  attention_tc_body<__half, D>(q, k, v, out, H, N, scale);
}

template <int D>
void launch(const float* q, const float* k, const float* v, float* out, int64_t B, int H, int64_t N, Precision p) {
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  VG_CHECK(B * H < 65536, "flash_attention: ", B * H, " (batch x heads) exceeds the grid limit");
  if (p == Precision::F32) {
    dim3 grid(static_cast<unsigned>((N + kF32Rows - 1) / kF32Rows), static_cast<unsigned>(B * H));
    attention_f32_kernel<D><<<grid, kF32Rows>>>(q, k, v, out, H, N, scale);
  } else {
    dim3 grid(static_cast<unsigned>((N + kTcRows - 1) / kTcRows), static_cast<unsigned>(B * H));
    constexpr size_t smem = tc_smem_bytes<D>();
    if (p == Precision::BF16) {
      VG_CUDA_CHECK(cudaFuncSetAttribute(attention_bf16_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(smem)));
      attention_bf16_kernel<D><<<grid, 128, smem>>>(q, k, v, out, H, N, scale);
    } else {
      VG_CUDA_CHECK(cudaFuncSetAttribute(attention_f16_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(smem)));
      attention_f16_kernel<D><<<grid, 128, smem>>>(q, k, v, out, H, N, scale);
    }
  }
  VG_CUDA_CHECK_LAUNCH();
}

// One warp per (token, head): LayerNorm of the q / k head vectors, RoPE from the (cos, sin) table, and the
// [B,N,3C] -> [B*H,N,D] transpose. The head vector is staged in shared memory for the RoPE pairing.
__global__ void attention_prep_kernel(const float* __restrict__ qkv, int64_t B, int64_t N, int H, int D,
                                      const float* qw, const float* qb, const float* kw, const float* kb,
                                      const int32_t* __restrict__ pos, const float* __restrict__ rope_cs, float* q,
                                      float* k, float* v) {
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
    float* dst = (which == 0 ? q : which == 1 ? k : v) + dst_off;
    if (which == 2) {
      for (int d = lane; d < D; d += 32) dst[d] = src[d];
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
      for (int d = lane; d < D; d += 32) dst[d] = buf[d];
    } else {
      const int fd = D / 2, hp = fd / 2;  // features per axis, pairs per axis (rope.py)
      for (int d = lane; d < D; d += 32) {
        const int axis = d / fd, j = d % fd, pair = j % hp;
        const int p = pos[2 * n + axis];
        const float c = rope_cs[(static_cast<int64_t>(p) * hp + pair) * 2], s = rope_cs[(static_cast<int64_t>(p) * hp + pair) * 2 + 1];
        const float* f = buf + axis * fd;
        dst[d] = j < hp ? f[j] * c - f[j + hp] * s : f[j] * c + f[j - hp] * s;
      }
    }
    __syncwarp();
  }
}

}  // namespace

void flash_attention(const float* q, const float* k, const float* v, float* out, int64_t B, int H, int64_t N, int D,
                     Precision p) {
  switch (D) {
    case 16: launch<16>(q, k, v, out, B, H, N, p); break;
    case 32: launch<32>(q, k, v, out, B, H, N, p); break;
    case 64: launch<64>(q, k, v, out, B, H, N, p); break;
    case 128: launch<128>(q, k, v, out, B, H, N, p); break;
    default: VG_FAIL("flash_attention: head dim ", D, " unsupported (16, 32, 64, 128)");
  }
}

void attention_prep(const float* qkv, int64_t B, int64_t N, int H, int D, const float* qw, const float* qb,
                    const float* kw, const float* kb, const int32_t* pos, const float* rope_cs, float* q, float* k,
                    float* v) {
  const int64_t items = B * N * H;
  if (items == 0) return;
  constexpr int warps = 8;
  attention_prep_kernel<<<grid_for(items, warps), warps * 32, warps * D * sizeof(float)>>>(qkv, B, N, H, D, qw, qb, kw,
                                                                                           kb, pos, rope_cs, q, k, v);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace vg::vggt::cuda
