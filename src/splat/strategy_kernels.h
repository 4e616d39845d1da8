// Internal: the per-Gaussian pieces of DefaultStrategy shared by the CPU loop and the CUDA kernels
// (strategy.cu; strategy_nocuda.cc in CPU-only builds). C++17-clean: included by the .cu.
#pragma once
#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define VG_STRATEGY_HD __host__ __device__ __forceinline__
#else
#define VG_STRATEGY_HD inline
#endif

namespace vg::detail {

// Bits of the per-Gaussian refine flags.
enum RefineFlag : uint8_t { kGradHigh = 1, kSmall = 2, kLowOpacity = 4, kTooBig = 8 };

struct RefineThresholds {
  float grow_grad2d;   // mean normalised gradient above which a Gaussian grows
  float grow_scale3d;  // grow_scale3d * scene_scale: duplicate at or below, split above
  float prune_opa;     // prune when sigmoid(opacity) is below
  float prune_scale3d; // prune_scale3d * scene_scale: "too big" above
};

// gsplat _update_state (n_cameras = 1, not packed): visible = both radii > 0;
// grad2d += ||v_means2d * (W/2, H/2)||, count += 1.
VG_STRATEGY_HD void accumulate_one(int64_t i, const float* v_means2d, const int32_t* radii, float sx, float sy,
                                   float* grad2d, float* count) {
  if (radii[2 * i] <= 0 || radii[2 * i + 1] <= 0) return;
  float gx = v_means2d[2 * i] * sx, gy = v_means2d[2 * i + 1] * sy;
  grad2d[i] += sqrtf(gx * gx + gy * gy);
  count[i] += 1.0f;
}

// gsplat _grow_gs / _prune_gs tests for one Gaussian; grad2d/count may be null (no gradient statistics).
VG_STRATEGY_HD uint8_t refine_flags_one(int64_t i, const float* grad2d, const float* count, const float* scales,
                                        const float* opacities, const RefineThresholds& t) {
  uint8_t f = 0;
  if (grad2d && count) {
    float c = count[i] > 1.0f ? count[i] : 1.0f;
    if (grad2d[i] / c > t.grow_grad2d) f |= kGradHigh;
  }
  float s = fmaxf(fmaxf(scales[3 * i], scales[3 * i + 1]), scales[3 * i + 2]);
  float max_scale = expf(s);  // max(exp(s)) = exp(max(s))
  if (max_scale <= t.grow_scale3d) f |= kSmall;
  if (max_scale > t.prune_scale3d) f |= kTooBig;
  float opacity = 1.0f / (1.0f + expf(-opacities[i]));
  if (opacity < t.prune_opa) f |= kLowOpacity;
  return f;
}

void accumulate_grad2d_cuda(const float* v_means2d, const int32_t* radii, int64_t n, float sx, float sy,
                            float* grad2d, float* count);
void refine_flags_cuda(const float* grad2d, const float* count, const float* scales, const float* opacities,
                       int64_t n, const RefineThresholds& t, uint8_t* flags);

}  // namespace vg::detail
