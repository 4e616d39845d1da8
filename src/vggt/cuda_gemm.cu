// VGGT GEMMs (nn.Linear, convs as im2col + GEMM): C = epilogue(A [M,K] @ W[N,K]^T + bias).
// F32: exact fp32 FMA, 64x64 tiles (the parity path, no TF32). BF16 / F16: cuBLASLt (cuda_cublaslt.cu) when
// the library can be opened, else tensor cores through WMMA (16x16x16, fp32 accumulation, 128x128x32 block
// tiles; A rounded to the 16-bit type when staged).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include "core/cuda_check.h"
#include "core/error.h"
#include "vggt/cuda_convert.cuh"
#include "vggt/cuda_gemm_internal.h"
#include "vggt/cuda_ops.h"

namespace vg::vggt::cuda {

namespace {

__device__ __forceinline__ float gelu_erf(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }

__device__ __forceinline__ void epilogue_store(float* C, int64_t ldc, int64_t m, int64_t n, float acc,
                                               const float* bias, Epilogue epi, const float* gamma) {
  float v = acc + (bias ? bias[n] : 0.0f);
  float* dst = C + m * ldc + n;
  switch (epi) {
    case Epilogue::kStore: *dst = v; break;
    case Epilogue::kGelu: *dst = gelu_erf(v); break;
    case Epilogue::kRelu: *dst = fmaxf(v, 0.0f); break;
    case Epilogue::kResidual: *dst += (gamma ? gamma[n] : 1.0f) * v; break;
  }
}

// ---- fp32: 256 threads, 64x64 tile, 4x4 outputs per thread (rows ty + 16 i, cols tx + 16 j).
constexpr int kF32Tile = 64, kF32K = 16;

__global__ void __launch_bounds__(256) gemm_f32_kernel(const float* __restrict__ A, const float* __restrict__ W,
                                                       const float* __restrict__ bias, float* C, int64_t M,
                                                       int64_t N, int64_t K, int64_t ldc, Epilogue epi,
                                                       const float* __restrict__ gamma) {
  __shared__ float As[kF32K][kF32Tile + 1];
  __shared__ float Ws[kF32K][kF32Tile + 1];
  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kF32Tile, n0 = static_cast<int64_t>(blockIdx.x) * kF32Tile;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kF32K) {
    for (int i = 0; i < 4; ++i) {
      const int idx = t + i * 256, r = idx / kF32K, kk = idx % kF32K;
      const int64_t k = k0 + kk;
      As[kk][r] = (m0 + r < M && k < K) ? A[(m0 + r) * K + k] : 0.0f;
      Ws[kk][r] = (n0 + r < N && k < K) ? W[(n0 + r) * K + k] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kF32K; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[kk][ty + 16 * i], b[i] = Ws[kk][tx + 16 * i];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const int64_t m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
      if (m < M && n < N) epilogue_store(C, ldc, m, n, acc[i][j], bias, epi, gamma);
    }
}

// ---- 16-bit tensor cores: 256 threads = 8 warps as 2 (M) x 4 (N), each warp 64x32 = 4x2 fragments.
constexpr int kTcM = 128, kTcN = 128, kTcK = 32, kTcLd = kTcK + 8;


template <typename T>
__device__ __forceinline__ void gemm_tc_body(const float* __restrict__ A, const T* __restrict__ W,
                                             const float* __restrict__ bias, float* C, int64_t M, int64_t N,
                                             int64_t K, int64_t ldc, Epilogue epi, const float* __restrict__ gamma) {
  using namespace nvcuda;
  __shared__ __align__(32) T As[kTcM * kTcLd];
  __shared__ __align__(32) T Ws[kTcN * kTcLd];
  __shared__ __align__(32) float scratch[8][16 * 16];
  const int t = threadIdx.x, warp = t / 32, lane = t % 32, wm = warp / 4, wn = warp % 4;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTcM, n0 = static_cast<int64_t>(blockIdx.x) * kTcN;
  const bool a_vec = (K % 4) == 0, w_vec = (K % 8) == 0;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4][2];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  for (int64_t k0 = 0; k0 < K; k0 += kTcK) {
    for (int i = 0; i < 4; ++i) {  // A: 128 x 32 floats, 4 per load
      const int idx = t + i * 256, r = idx / 8, c = (idx % 8) * 4;
      const int64_t m = m0 + r, k = k0 + c;
      float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (m < M) {
        if (a_vec && k + 3 < K) {
          const float4 f = *reinterpret_cast<const float4*>(A + m * K + k);
          v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
        } else {
          for (int q = 0; q < 4; ++q) v[q] = k + q < K ? A[m * K + k + q] : 0.0f;
        }
      }
      for (int q = 0; q < 4; ++q) As[r * kTcLd + c + q] = from_f32<T>(v[q]);
    }
    for (int i = 0; i < 2; ++i) {  // W: 128 x 32 halves, 8 per load
      const int idx = t + i * 256, r = idx / 4, c = (idx % 4) * 8;
      const int64_t n = n0 + r, k = k0 + c;
      T* dst = Ws + r * kTcLd + c;
      if (n < N && w_vec && k + 7 < K) {
        *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(W + n * K + k);
      } else {
        for (int q = 0; q < 8; ++q) dst[q] = (n < N && k + q < K) ? W[n * K + k + q] : from_f32<T>(0.0f);
      }
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTcK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a[4];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b[2];
      for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(a[i], As + (wm * 64 + i * 16) * kTcLd + kk, kTcLd);
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], Ws + (wn * 32 + j * 16) * kTcLd + kk, kTcLd);
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) {
      wmma::store_matrix_sync(scratch[warp], acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 256; e += 32) {
        const int64_t m = m0 + wm * 64 + i * 16 + e / 16, n = n0 + wn * 32 + j * 16 + e % 16;
        if (m < M && n < N) epilogue_store(C, ldc, m, n, scratch[warp][e], bias, epi, gamma);
      }
      __syncwarp();
    }
}

__global__ void __launch_bounds__(256) gemm_bf16_kernel(const float* A, const __nv_bfloat16* W, const float* bias,
                                                        float* C, int64_t M, int64_t N, int64_t K, int64_t ldc,
                                                        Epilogue epi, const float* gamma) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  gemm_tc_body<__nv_bfloat16>(A, W, bias, C, M, N, K, ldc, epi, gamma);
#else
  __trap();  // bf16 tensor cores need sm_80; the host never launches this below sm_80
#endif
}

__global__ void __launch_bounds__(256) gemm_f16_kernel(const float* A, const __half* W, const float* bias, float* C,
                                                       int64_t M, int64_t N, int64_t K, int64_t ldc, Epilogue epi,
                                                       const float* gamma) {
  gemm_tc_body<__half>(A, W, bias, C, M, N, K, ldc, epi, gamma);
}

}  // namespace

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::F32: return "fp32";
    case Precision::BF16: return "bf16";
    case Precision::F16: return "fp16";
  }
  return "?";
}

void linear(const float* A, int64_t M, int64_t K, const void* W, int64_t N, const float* bias, float* C, int64_t ldc,
            Epilogue epi, const float* gamma, Precision p) {
  if (M == 0 || N == 0) return;
  if (p == Precision::F32) {
    dim3 grid(static_cast<unsigned>((N + kF32Tile - 1) / kF32Tile), static_cast<unsigned>((M + kF32Tile - 1) / kF32Tile));
    gemm_f32_kernel<<<grid, 256>>>(A, static_cast<const float*>(W), bias, C, M, N, K, ldc, epi, gamma);
  } else {
    if (cublaslt_linear(A, M, K, W, N, bias, C, ldc, epi, gamma, p)) return;
    dim3 grid(static_cast<unsigned>((N + kTcN - 1) / kTcN), static_cast<unsigned>((M + kTcM - 1) / kTcM));
    if (p == Precision::BF16)
      gemm_bf16_kernel<<<grid, 256>>>(A, static_cast<const __nv_bfloat16*>(W), bias, C, M, N, K, ldc, epi, gamma);
    else
      gemm_f16_kernel<<<grid, 256>>>(A, static_cast<const __half*>(W), bias, C, M, N, K, ldc, epi, gamma);
  }
  VG_CUDA_CHECK_LAUNCH();
}

bool linear_a16_supported(int64_t K, Precision p) { return p != Precision::F32 && K % 8 == 0 && cublaslt_available(); }

void linear_a16(const void* A16, int64_t M, int64_t K, const void* W, int64_t N, const float* bias, float* C,
                int64_t ldc, Epilogue epi, const float* gamma, Precision p) {
  if (M == 0 || N == 0) return;
  VG_CHECK(cublaslt_linear_a16(A16, M, K, W, N, bias, C, ldc, epi, gamma, p),
           "linear_a16: no cuBLASLt plan for M ", M, " N ", N, " K ", K, " (check linear_a16_supported first)");
}

}  // namespace vg::vggt::cuda
