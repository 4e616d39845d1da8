// Exact fp32 multi-head softmax attention for the track predictor's nn.MultiheadAttention blocks
// (track_modules/modules.py::AttnBlock / CrossAttnBlock): separate query and key lengths, q / k / v read in place
// from the in_proj GEMM outputs (strided rows), online softmax over key tiles staged in shared memory.
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "core/cuda_check.h"
#include "core/error.h"
#include "tracks/cuda_predictor_kernels.h"

namespace vg::tracks::cuda {
namespace {

constexpr int kKeys = 32;  // keys per shared-memory tile

// One thread per (sequence, head, query row); blockDim.x query rows per block, blocks ordered (m, h, tile).
template <int D>
__global__ void mha_kernel(const float* __restrict__ q, int64_t q_ld, const float* __restrict__ k,
                           const float* __restrict__ v, int64_t kv_ld, float* __restrict__ out, int64_t out_ld, int H,
                           int64_t Lq, int64_t Lk, int64_t tiles, float scale) {
  __shared__ float Ks[kKeys][D];
  __shared__ float Vs[kKeys][D];
  const int64_t blk = blockIdx.x, tile = blk % tiles, mh = blk / tiles;
  const int64_t m = mh / H, h = mh % H;
  const int64_t row = tile * blockDim.x + threadIdx.x;
  const bool active = row < Lq;
  const float* qr_p = q + (m * Lq + (active ? row : 0)) * q_ld + h * D;
  const float* kb = k + m * Lk * kv_ld + h * D;
  const float* vb = v + m * Lk * kv_ld + h * D;
  float qr[D], o[D];
#pragma unroll
  for (int d = 0; d < D; ++d) qr[d] = active ? qr_p[d] * scale : 0.0f, o[d] = 0.0f;
  float mx = -FLT_MAX, l = 0.0f;
  for (int64_t j0 = 0; j0 < Lk; j0 += kKeys) {
    __syncthreads();
    for (int e = threadIdx.x; e < kKeys * D; e += blockDim.x) {
      const int jj = e / D, d = e % D;
      const int64_t j = j0 + jj;
      Ks[jj][d] = j < Lk ? kb[j * kv_ld + d] : 0.0f;
      Vs[jj][d] = j < Lk ? vb[j * kv_ld + d] : 0.0f;
    }
    __syncthreads();
    const int nk = static_cast<int>(Lk - j0 < kKeys ? Lk - j0 : kKeys);
    float s[kKeys];
    float tmax = -FLT_MAX;
#pragma unroll
    for (int j = 0; j < kKeys; ++j) {
      float acc = 0.0f;
#pragma unroll
      for (int d = 0; d < D; ++d) acc = fmaf(qr[d], Ks[j][d], acc);
      s[j] = acc;
      if (j < nk) tmax = fmaxf(tmax, acc);
    }
    const float m_new = fmaxf(mx, tmax), alpha = expf(mx - m_new);
    l *= alpha;
#pragma unroll
    for (int d = 0; d < D; ++d) o[d] *= alpha;
#pragma unroll
    for (int j = 0; j < kKeys; ++j) {
      const float p = j < nk ? expf(s[j] - m_new) : 0.0f;
      l += p;
#pragma unroll
      for (int d = 0; d < D; ++d) o[d] = fmaf(p, Vs[j][d], o[d]);
    }
    mx = m_new;
  }
  if (!active) return;
  float* dst = out + (m * Lq + row) * out_ld + h * D;
  const float inv = 1.0f / l;
#pragma unroll
  for (int d = 0; d < D; ++d) dst[d] = o[d] * inv;
}

template <int D>
void launch(const float* q, int64_t q_ld, const float* k, const float* v, int64_t kv_ld, float* out, int64_t out_ld,
            int64_t M, int H, int64_t Lq, int64_t Lk) {
  const int rows = Lq <= 32 ? 32 : 64;
  const int64_t tiles = (Lq + rows - 1) / rows, blocks = M * H * tiles;
  VG_CHECK(blocks < (int64_t{1} << 31), "track predictor attention: ", blocks, " blocks exceed the grid limit");
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  mha_kernel<D><<<static_cast<unsigned>(blocks), rows>>>(q, q_ld, k, v, kv_ld, out, out_ld, H, Lq, Lk, tiles, scale);
  VG_CUDA_CHECK_LAUNCH();
}

}  // namespace

void mha(const float* q, int64_t q_ld, const float* k, const float* v, int64_t kv_ld, float* out, int64_t out_ld,
         int64_t M, int H, int64_t Lq, int64_t Lk, int D) {
  if (M == 0 || Lq == 0) return;
  VG_CHECK(Lk > 0, "track predictor attention: no keys");
  switch (D) {
    case 8: launch<8>(q, q_ld, k, v, kv_ld, out, out_ld, M, H, Lq, Lk); break;
    case 16: launch<16>(q, q_ld, k, v, kv_ld, out, out_ld, M, H, Lq, Lk); break;
    case 32: launch<32>(q, q_ld, k, v, kv_ld, out, out_ld, M, H, Lq, Lk); break;
    case 48: launch<48>(q, q_ld, k, v, kv_ld, out, out_ld, M, H, Lq, Lk); break;
    case 64: launch<64>(q, q_ld, k, v, kv_ld, out, out_ld, M, H, Lq, Lk); break;
    default: VG_CHECK(false, "track predictor attention: head dim ", D, " (supported: 8, 16, 32, 48, 64)");
  }
}

}  // namespace vg::tracks::cuda
