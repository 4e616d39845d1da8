// FlashAttention-2 forward (Dao 2023, "FlashAttention-2: Faster Attention with Better Parallelism and Work
// Partitioning") for the 16-bit precisions: each warp owns 16 (x kMT) query rows; Q fragments, the score tile
// S = Q K^T, the online-softmax state and the output O stay in registers (mma.sync m16n8k16, fp32 accumulation);
// K / V tiles stream through a cp.async ring of kStages shared-memory stages (rows padded by 16 bytes so the
// ldmatrix row addresses fall in distinct banks). P = exp(S - max) is repacked to 16 bits in registers and used
// directly as the A operand of O += P V (the m16n8k16 C-fragment layout of two adjacent 8-key tiles is the
// A-fragment layout of one 16-key step).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "core/cuda_check.h"
#include "core/error.h"
#include "vggt/cuda_convert.cuh"
#include "vggt/cuda_flash_attention.h"

namespace vg::vggt::cuda {

namespace {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define VG_FA_SM80 1
#else
#define VG_FA_SM80 0
#endif

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global -> shared copy; valid = false zero-fills (rows past N). Synchronous below sm_80 (no cp.async).
__device__ __forceinline__ void copy16(uint32_t dst, const void* src, bool valid) {
#if VG_FA_SM80
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
#else
  uint4 v = valid ? *reinterpret_cast<const uint4*>(src) : make_uint4(0, 0, 0, 0);
  asm volatile("st.shared.v4.u32 [%0], {%1, %2, %3, %4};\n" ::"r"(dst), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w));
#endif
}
__device__ __forceinline__ void copy_commit() {
#if VG_FA_SM80
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N>
__device__ __forceinline__ void copy_wait() {
#if VG_FA_SM80
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

__device__ __forceinline__ void ldsm_x4(uint32_t addr, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_trans(uint32_t addr, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// d += a (16x16, row) * b (16x8, col), fp32 accumulators.
template <typename T>
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                                        uint32_t b1) {
#if VG_FA_SM80
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  __trap();  // bf16 mma needs sm_80; the host never launches it below
#endif
}
template <>
__device__ __forceinline__ void mma16816<__half>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if VG_FA_SM80
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else  // sm_75: two m16n8k8 (a0,a1 / b0 cover k 0..7, a2,a3 / b1 cover k 8..15)
  asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5}, {%6}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(b0));
  asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5}, {%6}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[2]), "r"(a[3]), "r"(b1));
#endif
}

// Tiling: kWarps warps x kMT 16-row tiles = kRows query rows per block, kN keys per K/V tile, kStages stages.
template <int D, int kWarps, int kMT, int kN, int kStages>
struct Tiling {
  static_assert(D % 16 == 0 && kN % 16 == 0 && kStages >= 2, "tile shape");
  static constexpr int kRows = kWarps * 16 * kMT;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kLd = D + 8;  // padded shared row (elements): 8 ldmatrix rows hit 8 distinct 16-byte bank groups
  static constexpr size_t kSmem = static_cast<size_t>(kRows + 2 * kStages * kN) * kLd * 2;
  // Registers per thread budgeted (blocks per SM = 64K / (kRegs kThreads)): 128 for the small head dims, else up to
  // 255 (D = 64: 2 x 16 rows of S, O and Q fragments need ~230).
  static constexpr int kRegs = kMT == 1 && D <= 32 ? 128 : 255;
  static constexpr int kMinBlocks = 65536 / (kRegs * kThreads) > 0 ? 65536 / (kRegs * kThreads) : 1;
};

template <typename T, int D, int kWarps, int kMT, int kN, int kStages>
__global__ void __launch_bounds__(kWarps * 32, (Tiling<D, kWarps, kMT, kN, kStages>::kMinBlocks))
    flash_fwd_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, float* __restrict__ out,
                     int H, int N, float scale_log2) {
  using Cfg = Tiling<D, kWarps, kMT, kN, kStages>;
  constexpr int kLd = Cfg::kLd, kRows = Cfg::kRows, kThreads = Cfg::kThreads, kChunks = D / 8;  // 16-byte chunks per row
  constexpr int kNT = kN / 8, kDT = D / 8;  // 8-wide n-tiles of S (keys) and of O (head dims)
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* Qs = reinterpret_cast<T*>(smem_raw);
  T* KVs = Qs + kRows * kLd;  // stage s: K at KVs + s * 2 kN kLd, V kN kLd after it

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t bh = blockIdx.y;
  const int q0 = blockIdx.x * kRows;
  const T* qg = q + bh * N * D;
  const T* kg = k + bh * N * D;
  const T* vg = v + bh * N * D;

  // Copies: thread -> (row ld_row + pass * kPass, 16-byte chunk ld_col / 8); rows past N are zero-filled.
  constexpr int kPass = kThreads / kChunks;
  static_assert(kThreads % kChunks == 0 && kN % kPass == 0 && kRows % kPass == 0, "copy shape");
  const int ld_row = threadIdx.x / kChunks, ld_col = threadIdx.x % kChunks * 8;
  auto load_rows = [&](const T* g, int row0, T* sm, int rows) {  // rows [row0, row0 + rows) of g into sm
#pragma unroll
    for (int i = 0; i < rows / kPass; ++i) {
      const int r = ld_row + i * kPass, j = row0 + r;
      copy16(smem_addr(sm + r * kLd + ld_col), j < N ? g + static_cast<int64_t>(j) * D + ld_col : g, j < N);
    }
  };
  auto load_kv = [&](int tile, int stage) {
    T* Ks = KVs + stage * 2 * kN * kLd;
    load_rows(kg, tile * kN, Ks, kN);
    load_rows(vg, tile * kN, Ks + kN * kLd, kN);
  };
  const int tiles = (N + kN - 1) / kN;
  load_rows(qg, q0, Qs, kRows);  // group 0: Q; groups 1 .. kStages-1: K / V tiles 0 .. kStages-2
  copy_commit();
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < tiles) load_kv(s, s);
    copy_commit();
  }

  // ldmatrix lane -> (row, col) offsets: A operand (Q) and the .trans B operand (V): matrices (rows 0-7 | 8-15) x
  // (cols 0-7 | 8-15) in the order a0..a3 / b0,b1 of two n-tiles; K (non-trans B): rows are keys, two n-tiles.
  const int a_row = (lane & 7) + ((lane >> 3) & 1) * 8, a_col = (lane >> 4) * 8;
  const int k_row = (lane & 7) + (lane >> 4) * 8, k_col = ((lane >> 3) & 1) * 8;

  uint32_t qf[kMT][D / 16][4];
  copy_wait<kStages - 1>();  // Q has landed
  __syncthreads();
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
      ldsm_x4(smem_addr(Qs + ((warp * kMT + mt) * 16 + a_row) * kLd + kk * 16 + a_col), qf[mt][kk]);
  float o[kMT][kDT][4];
  float m[kMT][2], l[kMT][2];  // running max (raw score units) and this thread's partial row sum, rows g and g+8
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int dt = 0; dt < kDT; ++dt) o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.0f;
    m[mt][0] = m[mt][1] = -INFINITY;
    l[mt][0] = l[mt][1] = 0.0f;
  }

  for (int t = 0; t < tiles; ++t) {
    copy_wait<kStages - 2>();  // tile t (group t + 1) has landed for this thread ...
    __syncthreads();           // ... and for all; everyone is done with the stage refilled below
    if (t + kStages - 1 < tiles) load_kv(t + kStages - 1, (t + kStages - 1) % kStages);
    copy_commit();  // always (possibly empty): keeps group t + 1 = tile t
    const T* Ks = KVs + (t % kStages) * 2 * kN * kLd;
    const T* Vs = Ks + kN * kLd;

    float s[kMT][kNT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
#pragma unroll
      for (int np = 0; np < kN / 16; ++np) {
        uint32_t b[4];
        ldsm_x4(smem_addr(Ks + (np * 16 + k_row) * kLd + kk * 16 + k_col), b);
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma16816<T>(s[mt][2 * np], qf[mt][kk], b[0], b[1]);
          mma16816<T>(s[mt][2 * np + 1], qf[mt][kk], b[2], b[3]);
        }
      }
    const int j0 = t * kN;
    if (j0 + kN > N) {  // last tile: keys past N get -inf (their K / V rows are zero-filled)
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (j0 + nt * 8 + 2 * (lane & 3) + (e & 1) >= N) s[mt][nt][e] = -INFINITY;
    }

    // Online softmax in base 2: p = 2^(s * scale log2e - m * scale log2e), one FFMA + one EX2 per score; the
    // previous O and row sum are rescaled by 2^((m_old - m_new) * scale log2e). Row max over the quad's 4 lanes.
    // O is rescaled only when some row max of the warp grew (rare after the first tiles of a long sequence).
    float alpha[kMT][2];
    bool grew = false;
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int hr = 0; hr < 2; ++hr) {
        float mx = m[mt][hr];
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * hr], s[mt][nt][2 * hr + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const bool up = mx > m[mt][hr];
        grew |= up;
        alpha[mt][hr] = up ? ex2((m[mt][hr] - mx) * scale_log2) : 1.0f;
        const float ms = mx * scale_log2;
        m[mt][hr] = mx;
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int e = 2 * hr; e < 2 * hr + 2; ++e) {
            s[mt][nt][e] = ex2(fmaf(s[mt][nt][e], scale_log2, -ms));
            sum += s[mt][nt][e];
          }
        l[mt][hr] = l[mt][hr] * alpha[mt][hr] + sum;
      }
    if (__any_sync(0xffffffffu, grew)) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int dt = 0; dt < kDT; ++dt)
#pragma unroll
          for (int e = 0; e < 4; ++e) o[mt][dt][e] *= alpha[mt][e / 2];
    }

    // O += P V: 16-key step kk uses S n-tiles 2kk (a0 rows g, a1 rows g+8) and 2kk+1 (a2, a3) as the A fragment.
#pragma unroll
    for (int kk = 0; kk < kN / 16; ++kk) {
      uint32_t a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        a[mt][0] = pack2<T>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        a[mt][1] = pack2<T>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        a[mt][2] = pack2<T>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        a[mt][3] = pack2<T>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < D / 16; ++dp) {
        uint32_t b[4];
        ldsm_x4_trans(smem_addr(Vs + (kk * 16 + a_row) * kLd + dp * 16 + a_col), b);
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma16816<T>(o[mt][2 * dp], a[mt], b[0], b[1]);
          mma16816<T>(o[mt][2 * dp + 1], a[mt], b[2], b[3]);
        }
      }
    }
  }

  const int64_t b = bh / H, h = bh % H;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hr = 0; hr < 2; ++hr) {
      float sum = l[mt][hr];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const float inv = 1.0f / sum;
      const int row = q0 + (warp * kMT + mt) * 16 + lane / 4 + hr * 8;
      if (row >= N) continue;
      float* dst = out + ((b * N + row) * H + h) * D + 2 * (lane & 3);
#pragma unroll
      for (int dt = 0; dt < kDT; ++dt)
        *reinterpret_cast<float2*>(dst + dt * 8) = make_float2(o[mt][dt][2 * hr] * inv, o[mt][dt][2 * hr + 1] * inv);
    }
}

struct DeviceCaps {
  int cc_major = 0, smem_optin = 0;
};
DeviceCaps device_caps() {
  int dev = 0;
  DeviceCaps c;
  VG_CUDA_CHECK(cudaGetDevice(&dev));
  VG_CUDA_CHECK(cudaDeviceGetAttribute(&c.cc_major, cudaDevAttrComputeCapabilityMajor, dev));
  VG_CUDA_CHECK(cudaDeviceGetAttribute(&c.smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  return c;
}

// Launches one tiling; false (nothing launched) when its shared memory exceeds the device's per-block limit.
template <typename T, int D, int kWarps, int kMT, int kN, int kStages>
bool launch_tiling(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N,
                   const DeviceCaps& caps) {
  using Cfg = Tiling<D, kWarps, kMT, kN, kStages>;
  if (Cfg::kSmem > static_cast<size_t>(caps.smem_optin)) return false;
  auto kernel = flash_fwd_kernel<T, D, kWarps, kMT, kN, kStages>;
  if (Cfg::kSmem > 48 * 1024)
    VG_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(Cfg::kSmem)));
  const float scale_log2 = static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(D)));  // log2(e) / sqrt(D)
  const dim3 grid(static_cast<unsigned>((N + Cfg::kRows - 1) / Cfg::kRows), static_cast<unsigned>(B * H));
  kernel<<<grid, Cfg::kThreads, Cfg::kSmem>>>(static_cast<const T*>(q), static_cast<const T*>(k),
                                              static_cast<const T*>(v), out, H, static_cast<int>(N), scale_log2);
  VG_CUDA_CHECK_LAUNCH();
  return true;
}

// One tiling per head dim. D = 64 (VGGT-1B): 4 warps x 2 row tiles = 128 query rows, 64-key tiles, 2 stages (55 KB,
// 2 blocks per SM at <= 255 registers) measured fastest on an H200 for VGGT's global attention among w4m2n64s3,
// w4m2n32s3/s4, w8m1n64s2/s3, w4m1n64s2 and w8m1n128s2 (tools/attention_bench.cc; w4m2n32s4 is ~2 % faster on
// frame attention, within noise).
template <typename T>
void dispatch(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N, int D,
              const DeviceCaps& caps) {
  bool ok = false;
  switch (D) {
    case 16: ok = launch_tiling<T, 16, 4, 1, 64, 2>(q, k, v, out, B, H, N, caps); break;
    case 32: ok = launch_tiling<T, 32, 4, 1, 64, 2>(q, k, v, out, B, H, N, caps); break;
    case 64: ok = launch_tiling<T, 64, 4, 2, 64, 2>(q, k, v, out, B, H, N, caps); break;
    case 128: ok = launch_tiling<T, 128, 4, 1, 32, 2>(q, k, v, out, B, H, N, caps); break;
    default: VG_FAIL("flash_attention: head dim ", D, " unsupported (16, 32, 64, 128)");
  }
  VG_CHECK(ok, "flash_attention: D = ", D, " needs more shared memory per block than the device has (",
           caps.smem_optin, " bytes)");
}

}  // namespace

void flash_attention_tc(const void* q, const void* k, const void* v, float* out, int64_t B, int H, int64_t N, int D,
                        Precision p) {
  VG_CHECK(p != Precision::F32, "flash_attention_tc: 16-bit precisions only");
  VG_CHECK(B * H < 65536 && N < (int64_t{1} << 31), "flash_attention: B*H = ", B * H, ", N = ", N, " too large");
  if (B * H == 0 || N == 0) return;
  const DeviceCaps caps = device_caps();
  if (p == Precision::BF16) {
    VG_CHECK(caps.cc_major >= 8, "flash_attention: bf16 needs compute capability 8.0 (use fp16 below)");
    dispatch<__nv_bfloat16>(q, k, v, out, B, H, N, D, caps);
  } else {
    dispatch<__half>(q, k, v, out, B, H, N, D, caps);
  }
}

}  // namespace vg::vggt::cuda
