// Transformer block shared by the DINOv2 patch embedding, the aggregator and the camera-head trunk.
#include "core/error.h"
#include "vggt/cpu_ops.h"
#include "vggt/network.h"

namespace vg::vggt {

void block_forward(Tensor& x, const VggtWeights& w, const std::string& pre, int heads, float norm_eps,
                   const int32_t* pos, float rope_freq) {
  auto W = [&](const char* n) -> const Tensor& { return w.at(pre + n); };
  const Tensor none;
  const bool qk = w.has(pre + "attn.q_norm.weight");
  // x = x + ls1 * proj(attn(norm1(x)))
  Tensor h = ops::layer_norm(x, W("norm1.weight"), W("norm1.bias"), norm_eps);
  Tensor qkv = ops::linear(h, W("attn.qkv.weight"), W("attn.qkv.bias"));
  Tensor a = ops::attention(qkv, heads, qk ? W("attn.q_norm.weight") : none, qk ? W("attn.q_norm.bias") : none,
                            qk ? W("attn.k_norm.weight") : none, qk ? W("attn.k_norm.bias") : none, pos, rope_freq);
  qkv = Tensor();
  ops::add_scaled_(x, ops::linear(a, W("attn.proj.weight"), W("attn.proj.bias")), W("ls1.gamma"));
  // x = x + ls2 * fc2(gelu(fc1(norm2(x))))
  h = ops::layer_norm(x, W("norm2.weight"), W("norm2.bias"), norm_eps);
  Tensor m = ops::linear(h, W("mlp.fc1.weight"), W("mlp.fc1.bias"));
  ops::gelu_(m);
  ops::add_scaled_(x, ops::linear(m, W("mlp.fc2.weight"), W("mlp.fc2.bias")), W("ls2.gamma"));
}

}  // namespace vg::vggt
