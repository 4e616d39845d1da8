// FlashAttention forward for Hopper (sm_90a), head dim 64, bf16 / fp16 in, fp32 out: the FlashAttention-3 scheme
// (Shah et al. 2024, "FlashAttention-3: Fast and Accurate Attention with Asynchrony and Low-precision", sec. 3.1-3.2)
// without its fp8 path. One producer warp streams K / V tiles with bulk copies (cp.async.bulk, completing on
// mbarriers) through a kStages ring; two consumer warpgroups own 64 query rows each and run both GEMMs on the tensor
// cores with wgmma: S = Q K^T with Q and K from shared memory, O += P V with P from registers (the accumulator layout
// of S is the A-fragment layout). Each consumer issues S(t) = Q K(t)^T and O += P(t-1) V(t-1) back to back and runs
// the softmax of tile t while the second GEMM is still in flight (intra-warpgroup overlap), and the two warpgroups
// interleave on the SM's tensor cores.
//
// Layout (AttnLayout::kSwizzled128, written by attention_prep): q, k, v [B*H, Np, 64] with Np = N rounded up to
// kPadRows; in every group of 8 rows the eight 16-byte chunks of row r are stored at chunk c ^ (r % 8). That is the
// 128-byte swizzle of the wgmma shared-memory descriptor, so a plain contiguous bulk copy of a 128-row tile into a
// 1024-byte-aligned buffer lands in the layout wgmma reads, with no shared-memory bank conflicts. Rows >= N are zero
// (attention_prep writes them) and masked out of the softmax.
//
// Compiled for sm_90a only (CMakeLists.txt adds this file when the architecture list has 90); elsewhere the kernel
// body is empty and the host never launches it.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/cuda_check.h"
#include "core/error.h"
#include "vggt/cuda_convert.cuh"
#include "vggt/cuda_flash_attention.h"

namespace vg::vggt::cuda {

namespace {

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define VG_SM90A 1
#else
#define VG_SM90A 0
#endif

constexpr int kD = 64;                      // head dim: one 128-byte row per token
constexpr int kBN = 128;                    // keys per K / V tile
constexpr int kStages = 4;                  // K / V ring depth
constexpr int kRowBytes = kD * 2;           // 128
constexpr int kTileBytes = kBN * kRowBytes;  // 16 KB
static_assert(kPadRows % kBN == 0, "Np must be a whole number of key tiles");
// kWG consumer warpgroups of 64 query rows + the producer warp. Shared memory: Q | K[kStages] | V[kStages] |
// mbarriers (q_full, k_full[s], v_full[s], empty[s]); +1024 for aligning the base to the 1024-byte swizzle atom.
template <int kWG>
struct Cfg {
  static constexpr int kRows = 64 * kWG, kThreads = 128 * kWG + 32, kQBytes = kRows * kRowBytes;
  static constexpr int kKOff = kQBytes, kVOff = kKOff + kStages * kTileBytes, kBarOff = kVOff + kStages * kTileBytes;
  static constexpr int kSmem = kBarOff + 8 * (1 + 3 * kStages) + 1024;
};

__device__ __forceinline__ uint32_t smem_u32(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

// ---- mbarrier and bulk copy (sm_90) ----
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count));
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {  // until the phase of this parity completed
  asm volatile(
      "{\n .reg .pred p;\n"
      "WAIT:\n mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      " @!p bra WAIT;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void bulk_copy(uint32_t dst, const void* src, uint32_t bytes, uint32_t bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(dst),
               "l"(src), "r"(bytes), "r"(bar)
               : "memory");
}

// ---- wgmma (sm_90a) ----
// Shared-memory matrix descriptor, 128-byte swizzle: start address, leading / stride byte offsets (both 1024: the
// distance between 8-row groups; the other one is unused for operands one swizzle atom wide), layout type 1.
__device__ __forceinline__ uint64_t desc_sw128(uint32_t addr) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(1024 >> 4) << 16) |
         (static_cast<uint64_t>(1024 >> 4) << 32) | (static_cast<uint64_t>(1) << 62);
}
__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wg_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Pins registers at this point of the instruction stream: the values wgmma reads or writes are defined before the
// wgmma.fence that follows (else ptxas serialises the wgmmas) and are not touched while one is in flight.
template <int N>
__device__ __forceinline__ void pin(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void pin(uint32_t (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

#define VG_REGS64                                                                                                   \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, " \
  "%24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, "   \
  "%46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define VG_REGS32                                                                                                   \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, " \
  "%24, %25, %26, %27, %28, %29, %30, %31}"
#define VG_ACC8(i) \
  "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
#define VG_ACC32 VG_ACC8(0), VG_ACC8(8), VG_ACC8(16), VG_ACC8(24)
#define VG_ACC64 VG_ACC32, VG_ACC8(32), VG_ACC8(40), VG_ACC8(48), VG_ACC8(56)

// d[64] (= / +=) A (64 x 16, K-major in shared memory) * B (16 x 128, K-major: 128 rows of 16 keys' features).
#define VG_WGMMA_SS(TY)                                                                                       \
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %66, 0;\n"                                                 \
               " wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " " VG_REGS64 ", %64, %65, p, 1, 1, 0, 0;\n}\n" \
               : VG_ACC64                                                                                     \
               : "l"(da), "l"(db), "r"(accumulate))
// d[32] += A (64 x 16, registers) * B (16 x 64, N-major in shared memory: 16 rows of V, imm-trans-b = 1).
#define VG_WGMMA_RS(TY)                                                                                          \
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %37, 0;\n"                                                    \
               " wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " " VG_REGS32                            \
               ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"                                                   \
               : VG_ACC32                                                                                        \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "n"(1))

template <typename T>
__device__ __forceinline__ void wgmma_qk(float (&d)[64], uint64_t da, uint64_t db, int accumulate) {
#if VG_SM90A
  if constexpr (std::is_same_v<T, __nv_bfloat16>) VG_WGMMA_SS("bf16");
  else VG_WGMMA_SS("f16");
#endif
}
template <typename T>
__device__ __forceinline__ void wgmma_pv(float (&d)[32], const uint32_t* a, uint64_t db) {
#if VG_SM90A
  if constexpr (std::is_same_v<T, __nv_bfloat16>) VG_WGMMA_RS("bf16");
  else VG_WGMMA_RS("f16");
#endif
}

template <typename T, int kWG>
__global__ void __launch_bounds__(Cfg<kWG>::kThreads, 1)
    flash_fwd_sm90_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                          float* __restrict__ out, int H, int N, int Np, float scale_log2) {
#if VG_SM90A
  constexpr int kRows = Cfg<kWG>::kRows, kKOff = Cfg<kWG>::kKOff, kVOff = Cfg<kWG>::kVOff, kBarOff = Cfg<kWG>::kBarOff;
  extern __shared__ unsigned char smem_raw[];
  const uint32_t base = (smem_u32(smem_raw) + 1023) & ~1023u;
  const uint32_t bar = base + kBarOff;  // q_full, k_full[kStages], v_full[kStages], empty[kStages]
  auto k_full = [&](int s) { return bar + 8 * (1 + s); };
  auto v_full = [&](int s) { return bar + 8 * (1 + kStages + s); };
  auto empty = [&](int s) { return bar + 8 * (1 + 2 * kStages + s); };
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t bh = blockIdx.y;
  const int q0 = blockIdx.x * kRows, tiles = Np / kBN;
  if (threadIdx.x == 0) {
    mbar_init(bar, 1);
    for (int s = 0; s < kStages; ++s) {
      mbar_init(k_full(s), 1);
      mbar_init(v_full(s), 1);
      mbar_init(empty(s), 4 * kWG);  // lane 0 of every consumer warp
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  if (warp == 4 * kWG) {  // producer
    if (lane == 0) {
      const char* qg = reinterpret_cast<const char*>(q + (bh * Np + q0) * kD);
      const char* kg = reinterpret_cast<const char*>(k + bh * Np * kD);
      const char* vg = reinterpret_cast<const char*>(v + bh * Np * kD);
      const uint32_t qbytes = static_cast<uint32_t>(min(kRows, Np - q0)) * kRowBytes;
      mbar_expect_tx(bar, qbytes);
      bulk_copy(base, qg, qbytes, bar);
      for (int t = 0; t < tiles; ++t) {
        const int s = t % kStages;
        if (t >= kStages) mbar_wait(empty(s), ((t / kStages) & 1) ^ 1);  // tile t - kStages released
        const int64_t off = static_cast<int64_t>(t) * kTileBytes;
        mbar_expect_tx(k_full(s), kTileBytes);
        bulk_copy(base + kKOff + s * kTileBytes, kg + off, kTileBytes, k_full(s));
        mbar_expect_tx(v_full(s), kTileBytes);
        bulk_copy(base + kVOff + s * kTileBytes, vg + off, kTileBytes, v_full(s));
      }
    }
    return;
  }

  // Consumer warpgroup wg: query rows q0 + 64 wg + [0, 64); this thread holds rows r0 = 16 (warp % 4) + lane / 4
  // and r0 + 8 of them, keys / features 8 j + 2 (lane % 4) + {0, 1} of each 8-wide n-tile j.
  const int wg = warp / 4, tq = lane % 4;
  const uint32_t q_addr = base + wg * 64 * kRowBytes;
  float o[32], s[64];
  uint32_t p[32];  // P (tile t - 1) as the A fragments of the 8 16-key steps
#pragma unroll
  for (int i = 0; i < 32; ++i) o[i] = 0.0f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;  // rows r0, r0 + 8: running max, partial sum
  mbar_wait(bar, 0);

  // Every mbarrier wait comes before the wgmma.fence of the wgmmas it guards (a wait loop between the fence and a
  // wgmma makes ptxas serialise them).
  auto wait_v = [&](int tile) { mbar_wait(v_full(tile % kStages), (tile / kStages) & 1); };
  auto issue_pv = [&](int tile) {  // O += P V(tile), asynchronous
    const int st = tile % kStages;
    const uint32_t v_addr = base + kVOff + st * kTileBytes;
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) wgmma_pv<T>(o, p + 4 * kk, desc_sw128(v_addr + kk * 16 * kRowBytes));
    wg_commit();
  };

  auto issue_s = [&](int tile) {  // S = Q K(tile)^T, asynchronous
    const uint32_t k_addr = base + kKOff + (tile % kStages) * kTileBytes;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) wgmma_qk<T>(s, desc_sw128(q_addr + kk * 32), desc_sw128(k_addr + kk * 32), kk);
    wg_commit();
  };
  // Online softmax of S(tile) in base 2 (as cuda_flash_attention.cu): row max over the quad, p = 2^(s c - m c) in
  // place, the row sums; a0 / a1 rescale the previous O.
  float a0 = 1.0f, a1 = 1.0f;
  bool grew = false;
  auto softmax = [&](int tile) {
    if ((tile + 1) * kBN > N) {  // keys past N (the zero padding) get -inf
#pragma unroll
      for (int i = 0; i < 64; ++i)
        if (tile * kBN + (i / 4) * 8 + 2 * tq + (i & 1) >= N) s[i] = -INFINITY;
    }
    float mx0 = m0, mx1 = m1;
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      mx0 = fmaxf(mx0, fmaxf(s[4 * j], s[4 * j + 1]));
      mx1 = fmaxf(mx1, fmaxf(s[4 * j + 2], s[4 * j + 3]));
    }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    grew = mx0 > m0 || mx1 > m1;
    a0 = mx0 > m0 ? ex2((m0 - mx0) * scale_log2) : 1.0f;
    a1 = mx1 > m1 ? ex2((m1 - mx1) * scale_log2) : 1.0f;
    m0 = mx0, m1 = mx1;
    const float ms0 = mx0 * scale_log2, ms1 = mx1 * scale_log2;
    float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      s[4 * j] = ex2(fmaf(s[4 * j], scale_log2, -ms0));
      s[4 * j + 1] = ex2(fmaf(s[4 * j + 1], scale_log2, -ms0));
      s[4 * j + 2] = ex2(fmaf(s[4 * j + 2], scale_log2, -ms1));
      s[4 * j + 3] = ex2(fmaf(s[4 * j + 3], scale_log2, -ms1));
      sum0 += s[4 * j] + s[4 * j + 1];
      sum1 += s[4 * j + 2] + s[4 * j + 3];
    }
    l0 = l0 * a0 + sum0;
    l1 = l1 * a1 + sum1;
  };
  auto rescale_and_pack = [&] {  // O *= alpha; P -> the A fragments (16-key step kk: S n-tiles 2 kk and 2 kk + 1)
    if (__any_sync(0xffffffffu, grew)) {
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        o[4 * j] *= a0, o[4 * j + 1] *= a0;
        o[4 * j + 2] *= a1, o[4 * j + 3] *= a1;
      }
    }
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
      p[4 * kk] = pack2<T>(s[8 * kk], s[8 * kk + 1]);
      p[4 * kk + 1] = pack2<T>(s[8 * kk + 2], s[8 * kk + 3]);
      p[4 * kk + 2] = pack2<T>(s[8 * kk + 4], s[8 * kk + 5]);
      p[4 * kk + 3] = pack2<T>(s[8 * kk + 6], s[8 * kk + 7]);
    }
  };

  mbar_wait(k_full(0), 0);  // tile 0: S alone
  pin(s);
  wg_fence();
  issue_s(0);
  wg_wait<0>();
  pin(s);
  softmax(0);
  rescale_and_pack();
  for (int t = 1; t < tiles; ++t) {  // S(t) and O += P V(t - 1) in flight together; softmax(t) overlaps the second
    mbar_wait(k_full(t % kStages), (t / kStages) & 1);
    wait_v(t - 1);
    pin(s);
    pin(o);
    pin(p);
    wg_fence();
    issue_s(t);
    issue_pv(t - 1);
    wg_wait<1>();  // S(t) done
    pin(s);
    softmax(t);
    wg_wait<0>();  // O += P V(t - 1) done: O and P may change, stage t - 1 is free
    pin(o);
    if (lane == 0) mbar_arrive(empty((t - 1) % kStages));
    rescale_and_pack();
  }
  wait_v(tiles - 1);
  pin(o);
  pin(p);
  wg_fence();
  issue_pv(tiles - 1);
  wg_wait<0>();
  pin(o);

  l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
  l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
  const int64_t b = bh / H, h = bh % H;
  const int row0 = q0 + wg * 64 + (warp % 4) * 16 + lane / 4;
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    const int row = row0 + 8 * hr;
    if (row >= N) continue;
    const float inv = 1.0f / (hr ? l1 : l0);
    float* dst = out + ((b * N + row) * H + h) * kD + 2 * tq;
#pragma unroll
    for (int j = 0; j < 8; ++j)
      *reinterpret_cast<float2*>(dst + 8 * j) = make_float2(o[4 * j + 2 * hr] * inv, o[4 * j + 2 * hr + 1] * inv);
  }
#endif
}

template <typename T, int kWG>
void launch(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N, int64_t Np) {
  constexpr int kRows = Cfg<kWG>::kRows, kThreads = Cfg<kWG>::kThreads, kSmem = Cfg<kWG>::kSmem;
  auto kernel = flash_fwd_sm90_kernel<T, kWG>;
  static const bool configured = [&] {
    VG_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    return true;
  }();
  (void)configured;
  const float scale_log2 = static_cast<float>(1.4426950408889634 / 8.0);  // log2(e) / sqrt(64)
  const dim3 grid(static_cast<unsigned>((Np + kRows - 1) / kRows), static_cast<unsigned>(B * H));
  kernel<<<grid, kThreads, kSmem>>>(static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), out, H,
                                    static_cast<int>(N), static_cast<int>(Np), scale_log2);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace

void flash_attention_sm90(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N,
                          Precision p) {
  const int64_t Np = (N + kPadRows - 1) / kPadRows * kPadRows;
  VG_CHECK(B * H < 65536 && Np < (int64_t{1} << 31), "flash_attention: B*H = ", B * H, ", N = ", N, " too large");
  if (B * H == 0 || N == 0) return;
  // Two consumer warpgroups: 155 registers, no spills. Three (192 query rows, FlashAttention-3's choice for D = 64)
  // spill at the 157-register cap of 416 threads unless a producer warpgroup hands its registers over (setmaxnreg).
  if (p == Precision::BF16) launch<__nv_bfloat16, 2>(q, k, v, out, B, H, N, Np);
  else launch<__half, 2>(q, k, v, out, B, H, N, Np);
}

}  // namespace vg::vggt::cuda
