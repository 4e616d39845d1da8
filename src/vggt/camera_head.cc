// heads/camera_head.py: camera tokens -> LayerNorm -> `camera_iterations` refinements, each modulating the
// tokens with adaLN (shift, scale, gate from the embedded previous pose encoding), running the trunk (blocks
// attending across frames) and adding a pose_branch delta; activation: T, quaternion linear, FoV ReLU.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "vggt/cpu_ops.h"
#include "vggt/network.h"

namespace vg::vggt {

std::vector<Tensor> run_camera_head(const VggtWeights& w, const VggtConfig& c, const Tensor& last_tokens) {
  const int64_t S = last_tokens.size(0), T = last_tokens.size(1), D = last_tokens.size(2);
  const std::string pre = "camera_head.";
  auto W = [&](const std::string& n) -> const Tensor& { return w.at(pre + n); };
  Tensor cam = Tensor::empty({S, D});  // tokens[:, :, 0]
  for (int64_t s = 0; s < S; ++s)
    std::memcpy(cam.data<float>() + s * D, last_tokens.data<float>() + s * T * D, D * sizeof(float));
  Tensor pose_tokens = ops::layer_norm(cam, W("token_norm.weight"), W("token_norm.bias"), 1e-5f);
  Tensor normed = ops::layer_norm(pose_tokens, Tensor(), Tensor(), 1e-6f);  // adaln_norm (no affine)
  Tensor pred;  // raw (pre-activation) accumulated encoding [S, 9]
  std::vector<Tensor> outs;
  for (int it = 0; it < c.camera_iterations; ++it) {
    Tensor input;
    if (!pred.defined()) {
      input = Tensor::empty({S, 9});
      for (int64_t s = 0; s < S; ++s)
        std::memcpy(input.data<float>() + s * 9, W("empty_pose_tokens").data<float>(), 9 * sizeof(float));
    } else {
      input = pred.clone();
    }
    Tensor mod_in = ops::linear(input, W("embed_pose.weight"), W("embed_pose.bias"));
    ops::silu_(mod_in);
    Tensor mod = ops::linear(mod_in, W("poseLN_modulation.1.weight"), W("poseLN_modulation.1.bias"));  // [S, 3D]
    Tensor x = Tensor::empty({1, S, D});
    const float* m = mod.data<float>();
    const float* nt = normed.data<float>();
    const float* pt = pose_tokens.data<float>();
    float* xs = x.data<float>();
    for (int64_t s = 0; s < S; ++s)
      for (int64_t d = 0; d < D; ++d) {  // gate * (norm(x) * (1 + scale) + shift) + x
        const float shift = m[s * 3 * D + d], scale = m[s * 3 * D + D + d], gate = m[s * 3 * D + 2 * D + d];
        xs[s * D + d] = gate * (nt[s * D + d] * (1.0f + scale) + shift) + pt[s * D + d];
      }
    for (int i = 0; i < c.camera_trunk_depth; ++i)
      block_forward(x, w, pre + "trunk." + std::to_string(i) + ".", c.camera_heads, 1e-5f, nullptr, 0);
    Tensor h = ops::layer_norm(x.reshape({S, D}), W("trunk_norm.weight"), W("trunk_norm.bias"), 1e-5f);
    Tensor hid = ops::linear(h, W("pose_branch.fc1.weight"), W("pose_branch.fc1.bias"));
    ops::gelu_(hid);
    Tensor delta = ops::linear(hid, W("pose_branch.fc2.weight"), W("pose_branch.fc2.bias"));
    if (!pred.defined())
      pred = delta;
    else
      ops::add_(pred, delta);
    Tensor act = pred.clone();
    float* a = act.data<float>();
    for (int64_t s = 0; s < S; ++s)
      for (int k = 7; k < 9; ++k) a[s * 9 + k] = std::max(a[s * 9 + k], 0.0f);  // fl_act = relu
    outs.push_back(std::move(act));
  }
  return outs;
}

}  // namespace vg::vggt
