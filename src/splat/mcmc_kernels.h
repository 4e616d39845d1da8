// Internal: the per-Gaussian pieces of MCMCStrategy (3DGS as MCMC, Kheradmand et al. 2024) shared by the CPU
// loops (mcmc_strategy.cc) and the CUDA kernels (mcmc_strategy.cu; mcmc_strategy_nocuda.cc in CPU-only builds):
// the relocation correction (eq. 9), the counter-based normal noise and the noise step on the means (eq. 7 as
// gsplat's inject_noise_to_position), and row copies / zeroing. C++17-clean: included by the .cu.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define VG_MCMC_HD __host__ __device__ __forceinline__
#else
#define VG_MCMC_HD inline
#endif

namespace vg::detail {

// Relocation ratios (1 + copies of a source) are clamped to [1, kRelocNMax], gsplat's n_max = 51.
constexpr int kRelocNMax = 51;
// gsplat DEFAULT_MCMC_OPACITY_T / _K: the noise is gated by sigmoid(-k (opacity - t)).
constexpr float kNoiseOpacityT = 0.005f;
constexpr float kNoiseOpacityK = 100.0f;

// table[n * kRelocNMax + k] = C(n, k) for 0 <= k <= n < kRelocNMax (Pascal's rule; exact in double).
inline void fill_binomial_table(double* table) {
  for (int n = 0; n < kRelocNMax; ++n)
    for (int k = 0; k < kRelocNMax; ++k)
      table[n * kRelocNMax + k] = k > n ? 0.0 : (k == 0 || k == n) ? 1.0
                                                                   : table[(n - 1) * kRelocNMax + k - 1] +
                                                                         table[(n - 1) * kRelocNMax + k];
}

// Kheradmand et al. 2024 eq. 9 for one source of opacity `o` shared by `ratio` Gaussians:
//   o_new = 1 - (1 - o)^(1/N), then clamped to [min_opacity, 1 - FLT_EPSILON] as gsplat's relocation kernel;
//   scale factor = o / sum_{i=1..N} sum_{k=0..i-1} C(i-1,k) (-1)^k o_new^(k+1) / sqrt(k+1)
// (the scales are multiplied by it, i.e. the covariance by its square). The double sum cancels heavily for
// opaque sources and large N, so it is accumulated in double (gsplat: float).
VG_MCMC_HD void relocation_one(float o, int ratio, const double* binoms, float min_opacity, float* new_opacity,
                               float* scale_factor) {
  const int n = ratio < 1 ? 1 : (ratio > kRelocNMax ? kRelocNMax : ratio);
  float on = -expm1f(log1pf(-o) / static_cast<float>(n));
  const float hi = 1.0f - 1.1920929e-7f;
  on = on < min_opacity ? min_opacity : (on > hi ? hi : on);
  double denom = 0.0;
  for (int i = 1; i <= n; ++i) {
    double p = on, sign = 1.0;  // p = o_new^(k+1)
    for (int k = 0; k <= i - 1; ++k) {
      denom += binoms[(i - 1) * kRelocNMax + k] * sign * p / sqrt(static_cast<double>(k + 1));
      p *= on;
      sign = -sign;
    }
  }
  *new_opacity = on;
  *scale_factor = static_cast<float>(static_cast<double>(o) / denom);
}

// In place for row `id` (raw parameters): opacity logit <- logit(o_new), log scales += log(scale factor).
VG_MCMC_HD void relocate_row(int32_t id, int32_t ratio, const double* binoms, float min_opacity, float* opacities,
                             float* scales) {
  const float o = 1.0f / (1.0f + expf(-opacities[id]));
  float on, f;
  relocation_one(o, ratio, binoms, min_opacity, &on, &f);
  opacities[id] = logf(on / (1.0f - on));
  const float lf = logf(f);
  for (int j = 0; j < 3; ++j) scales[3 * id + j] += lf;
}

// ---- counter-based normals: Philox4x32-10 (Salmon et al. 2011) + Box-Muller ----------------------

VG_MCMC_HD void philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c[0], p1 = static_cast<uint64_t>(0xCD9E8D57u) * c[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    const uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

// Three standard normals for (key, row, step): the same numbers on every backend and in every run.
VG_MCMC_HD void normal3(uint64_t key, int64_t row, int64_t step, float z[3]) {
  uint32_t c[4] = {static_cast<uint32_t>(row), static_cast<uint32_t>(static_cast<uint64_t>(row) >> 32),
                   static_cast<uint32_t>(step), static_cast<uint32_t>(static_cast<uint64_t>(step) >> 32)};
  philox4x32_10(c, static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32));
  float u[4];
  for (int i = 0; i < 4; ++i) u[i] = (static_cast<float>(c[i] >> 8) + 0.5f) * (1.0f / 16777216.0f);  // (0, 1)
  const float two_pi = 6.28318530717958647f;
  const float r0 = sqrtf(-2.0f * logf(u[0])), r1 = sqrtf(-2.0f * logf(u[2]));
  z[0] = r0 * cosf(two_pi * u[1]);
  z[1] = r0 * sinf(two_pi * u[1]);
  z[2] = r1 * cosf(two_pi * u[3]);
}

// gsplat inject_noise_to_position for row i: means += Sigma (z * sigmoid(-k (sigmoid(opacity) - t)) * noise_scale),
// Sigma = R(q) diag(exp(s))^2 R(q)^T (3DGS eq. 6, q normalised), z ~ N(0, I) from normal3(key, i, step).
VG_MCMC_HD void noise_row(int64_t i, float* means, const float* scales, const float* quats, const float* opacities,
                          float noise_scale, uint64_t key, int64_t step) {
  const float* q = quats + 4 * i;
  const float qn = sqrtf(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  const float inv = 1.0f / (qn > 1e-12f ? qn : 1e-12f);
  const float w = q[0] * inv, x = q[1] * inv, y = q[2] * inv, zq = q[3] * inv;
  const float R[9] = {1 - 2 * (y * y + zq * zq), 2 * (x * y - w * zq),     2 * (x * zq + w * y),
                      2 * (x * y + w * zq),     1 - 2 * (x * x + zq * zq), 2 * (y * zq - w * x),
                      2 * (x * zq - w * y),     2 * (y * zq + w * x),     1 - 2 * (x * x + y * y)};
  float s2[3];
  for (int j = 0; j < 3; ++j) s2[j] = expf(2.0f * scales[3 * i + j]);
  const float o = 1.0f / (1.0f + expf(-opacities[i]));
  const float gate = 1.0f / (1.0f + expf(kNoiseOpacityK * (o - kNoiseOpacityT)));  // sigmoid(-k (o - t))
  float z[3];
  normal3(key, i, step, z);
  for (int j = 0; j < 3; ++j) z[j] *= gate * noise_scale;
  float t[3];  // diag(s^2) R^T z
  for (int j = 0; j < 3; ++j) t[j] = s2[j] * (R[j] * z[0] + R[3 + j] * z[1] + R[6 + j] * z[2]);
  for (int r = 0; r < 3; ++r) means[3 * i + r] += R[3 * r] * t[0] + R[3 * r + 1] * t[1] + R[3 * r + 2] * t[2];
}

// CUDA launchers (pointers on the current device; ids/ratios/src/dst are i32 device arrays).
void relocate_rows_cuda(const int32_t* ids, const int32_t* ratios, int64_t m, float min_opacity, float* opacities,
                        float* scales);
void copy_rows_cuda(float* data, int64_t row_elems, const int32_t* dst, const int32_t* src, int64_t m);
void zero_rows_cuda(float* data, int64_t row_elems, const int32_t* ids, int64_t m);
void inject_noise_cuda(int64_t n, float* means, const float* scales, const float* quats, const float* opacities,
                       float noise_scale, uint64_t key, int64_t step);

}  // namespace vg::detail
