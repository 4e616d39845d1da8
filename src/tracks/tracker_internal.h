// Internals of the VGGSfM tracker (tracker*.cc): the encoders, the track predictor and the bilinear sampling
// convention they share. Not part of the public API.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/state_dict.h"
#include "tracks/tracker.h"

namespace vg::tracks::detail {

// track_modules/blocks.py::BasicEncoder on one image [3,H,W] -> [D, H/stride, W/stride].
Tensor basic_encoder(const StateDict& w, const std::string& pre, const Tensor& x, int stride);
// track_modules/blocks.py::ShallowEncoder (instance norm) on one image [3,H,W] -> [D, H/stride, W/stride].
Tensor shallow_encoder(const StateDict& w, const std::string& pre, const Tensor& x, int stride);

struct PredictorOutput {
  std::vector<Tensor> coords;  // per iteration [S,N,2], in the original image scale
  Tensor vis;                  // [S,N] (undefined for the fine predictor)
};
// BaseTrackerPredictor.forward with B = 1: fmaps [S,C,H,W], query points [N,2] (in the original image scale).
PredictorOutput track_predictor(const StateDict& w, const std::string& pre, const TrackPredictorConfig& cfg,
                                const Tensor& fmaps, const Tensor& query, int iters, int down_ratio);

// utils.py::bilinear_sampler (align_corners=True) maps a pixel coordinate to grid_sample's [-1, 1] and
// grid_sample maps it back; both steps are reproduced in fp32 so sample positions round as the official ones.
inline float grid_roundtrip(float p, int64_t size) {
  const float scale = static_cast<float>(2.0 / static_cast<double>(std::max<int64_t>(size - 1, 1)));
  const float g = p * scale - 1.0f;
  return (g + 1.0f) * (static_cast<float>(size - 1) / 2.0f);  // ATen's CPU grid sampler
}

// Bilinear weights and corners of one sample at (ix, iy) (already unnormalised), grid_sample's formulation.
struct BilinearTap {
  int64_t x0, y0;
  float nw, ne, sw, se;
};
inline BilinearTap bilinear_tap(float ix, float iy) {
  const float fx = std::floor(ix), fy = std::floor(iy);
  BilinearTap t;
  t.x0 = static_cast<int64_t>(fx);
  t.y0 = static_cast<int64_t>(fy);
  const float w = ix - fx, e = 1.0f - w, n = iy - fy, s = 1.0f - n;
  t.nw = s * e;
  t.ne = s * w;
  t.sw = n * e;
  t.se = n * w;
  return t;
}

// sample_features4d: features [C,H,W] at pixel points (x, y) with border padding -> out[C] for one point.
void sample_border(const float* f, int64_t C, int64_t H, int64_t W, float x, float y, float* out);

}  // namespace vg::tracks::detail
