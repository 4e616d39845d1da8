#include "vggt/model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "vggt/network.h"

namespace vg::vggt {

void pose_encoding_to_extri_intri(const Tensor& pose_enc, int64_t h, int64_t w, Tensor& extrinsics,
                                  Tensor& intrinsics) {
  VG_CHECK(pose_enc.ndim() == 2 && pose_enc.size(1) == 9, "pose encoding must be [S,9], got ",
           shape_str(pose_enc.shape()));
  const int64_t S = pose_enc.size(0);
  extrinsics = Tensor::zeros({S, 3, 4});
  intrinsics = Tensor::zeros({S, 3, 3});
  const float* p = pose_enc.data<float>();
  for (int64_t s = 0; s < S; ++s) {
    const float* e = p + s * 9;
    const float i = e[3], j = e[4], k = e[5], r = e[6];  // quaternion, scalar last (utils/rotation.py)
    const float two_s = 2.0f / (i * i + j * j + k * k + r * r);
    const float R[9] = {1 - two_s * (j * j + k * k), two_s * (i * j - k * r),     two_s * (i * k + j * r),
                        two_s * (i * j + k * r),     1 - two_s * (i * i + k * k), two_s * (j * k - i * r),
                        two_s * (i * k - j * r),     two_s * (j * k + i * r),     1 - two_s * (i * i + j * j)};
    float* E = extrinsics.data<float>() + s * 12;
    for (int row = 0; row < 3; ++row) {
      for (int col = 0; col < 3; ++col) E[row * 4 + col] = R[row * 3 + col];
      E[row * 4 + 3] = e[row];
    }
    float* K = intrinsics.data<float>() + s * 9;
    K[4] = (h / 2.0f) / std::tan(e[7] / 2.0f);  // fy from fov_h
    K[0] = (w / 2.0f) / std::tan(e[8] / 2.0f);  // fx from fov_w
    K[2] = w / 2.0f;
    K[5] = h / 2.0f;
    K[8] = 1.0f;
  }
}

VggtOutput VggtModel::forward(const Tensor& images, const VggtOptions& opts) const {
  const int64_t S = images.size(0), H = images.size(2), W = images.size(3);
  std::vector<int> keep(cfg_.dpt_layers.begin(), cfg_.dpt_layers.end());
  keep.push_back(cfg_.depth - 1);
  if (opts.keep_all_tokens)
    for (int i = 0; i < cfg_.depth; ++i) keep.push_back(i);
  AggregatorOutput agg = run_aggregator(w_, cfg_, images, keep);
  VggtOutput out;
  out.dino_patch_tokens = agg.dino_patch_tokens;
  out.pose_enc_iters = run_camera_head(w_, cfg_, agg.tokens[cfg_.depth - 1]);
  out.pose_enc = out.pose_enc_iters.back();
  pose_encoding_to_extri_intri(out.pose_enc, H, W, out.extrinsics, out.intrinsics);
  const int64_t HW = H * W;
  out.depth = Tensor::empty({S, H, W});
  out.depth_conf = Tensor::empty({S, H, W});
  if (opts.point_head) {
    out.world_points = Tensor::empty({S, H, W, 3});
    out.world_points_conf = Tensor::empty({S, H, W});
  }
  for (int64_t s = 0; s < S; ++s) {
    // activate_head: depth exp, confidence expp1 (1 + exp); points inv_log sign(y) (exp|y| - 1).
    Tensor d = run_dpt_frame(w_, cfg_, "depth_head.", agg.tokens, s, H, W);
    const float* ds = d.data<float>();
    for (int64_t i = 0; i < HW; ++i) {
      out.depth.data<float>()[s * HW + i] = std::exp(ds[i]);
      out.depth_conf.data<float>()[s * HW + i] = 1.0f + std::exp(ds[HW + i]);
    }
    if (!opts.point_head) continue;
    Tensor p = run_dpt_frame(w_, cfg_, "point_head.", agg.tokens, s, H, W);
    const float* ps = p.data<float>();
    for (int64_t i = 0; i < HW; ++i) {
      for (int ch = 0; ch < 3; ++ch) {
        const float y = ps[ch * HW + i];
        out.world_points.data<float>()[(s * HW + i) * 3 + ch] = (y > 0 ? 1.0f : y < 0 ? -1.0f : 0.0f) * std::expm1(std::abs(y));
      }
      out.world_points_conf.data<float>()[s * HW + i] = 1.0f + std::exp(ps[3 * HW + i]);
    }
  }
  for (int i : keep)
    if (agg.tokens[i].defined()) out.tokens[i] = agg.tokens[i];
  return out;
}

}  // namespace vg::vggt
