// heads/dpt_head.py (DPT, Ranftl et al. 2021) for one frame: four aggregator outputs are normalised, projected
// (1x1 conv), given a sin/cos UV position embedding, reassembled to 4x, 2x, 1x, 1/2x of the patch grid, fused
// coarse-to-fine by RefineNet blocks, upsampled to the image size and mapped to the output channels.
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "vggt/cpu_ops.h"
#include "vggt/network.h"

namespace vg::vggt {

namespace {

// _apply_pos_embed: x [C,h,w] += 0.1 * sincos(uv grid spanning the image aspect W/H), computed in double.
void add_uv_pos_embed(Tensor& x, int64_t W, int64_t H) {
  const int64_t C = x.size(0), h = x.size(1), w = x.size(2), q = C / 4;
  const double aspect = static_cast<double>(W) / static_cast<double>(H), diag = std::sqrt(aspect * aspect + 1.0);
  auto coords = [](double span, int64_t n) {  // torch.linspace(-span (n-1)/n, span (n-1)/n, n) in float32
    std::vector<double> v(static_cast<size_t>(n));
    const double lo = -span * (n - 1) / n, hi = span * (n - 1) / n;
    for (int64_t i = 0; i < n; ++i)
      v[i] = static_cast<float>(n > 1 ? lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(n - 1) : lo);
    return v;
  };
  const std::vector<double> xs = coords(aspect / diag, w), ys = coords(1.0 / diag, h);
  std::vector<double> omega(static_cast<size_t>(q));
  for (int64_t k = 0; k < q; ++k) omega[k] = 1.0 / std::pow(100.0, static_cast<double>(k) / static_cast<double>(q));
  float* d = x.data<float>();
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j)
      for (int64_t k = 0; k < q; ++k) {
        const double ax = xs[j] * omega[k], ay = ys[i] * omega[k];
        const int64_t px = i * w + j;
        d[(k)*h * w + px] += 0.1f * static_cast<float>(std::sin(ax));
        d[(q + k) * h * w + px] += 0.1f * static_cast<float>(std::cos(ax));
        d[(2 * q + k) * h * w + px] += 0.1f * static_cast<float>(std::sin(ay));
        d[(3 * q + k) * h * w + px] += 0.1f * static_cast<float>(std::cos(ay));
      }
}

// ResidualConvUnit with the official in-place ReLU: conv2(relu(conv1(relu(x)))) + relu(x).
Tensor residual_unit(const VggtWeights& w, const std::string& pre, Tensor x) {
  ops::relu_(x);
  Tensor h = ops::conv2d(x, w.at(pre + "conv1.weight"), w.at(pre + "conv1.bias"), 1, 1);
  ops::relu_(h);
  h = ops::conv2d(h, w.at(pre + "conv2.weight"), w.at(pre + "conv2.bias"), 1, 1);
  ops::add_(h, x);
  return h;
}

// FeatureFusionBlock: (x [+ RCU1(skip)]) -> RCU2 -> bilinear (align_corners) to (ho, wo) -> 1x1 out_conv.
Tensor fusion(const VggtWeights& w, const std::string& pre, Tensor x, const Tensor* skip, int64_t ho, int64_t wo) {
  if (skip) ops::add_(x, residual_unit(w, pre + "resConfUnit1.", skip->clone()));
  x = residual_unit(w, pre + "resConfUnit2.", x);
  x = ops::interpolate_bilinear(x, ho, wo, true);
  return ops::conv2d(x, w.at(pre + "out_conv.weight"), w.at(pre + "out_conv.bias"), 1, 0);
}

}  // namespace

Tensor run_dpt_frame(const VggtWeights& w, const VggtConfig& c, const std::string& pre,
                     const std::vector<Tensor>& tokens, int64_t s, int64_t H, int64_t W) {
  const int64_t ph = H / c.patch_size, pw = W / c.patch_size, P = ph * pw, D = c.token_dim();
  Tensor feats[4];
  for (int k = 0; k < 4; ++k) {
    const Tensor& t = tokens.at(c.dpt_layers[k]);
    VG_CHECK(t.defined(), "VGGT: aggregator output ", c.dpt_layers[k], " was not kept");
    const int64_t T = t.size(1);
    Tensor x = Tensor::empty({P, D});
    std::memcpy(x.data<float>(), t.data<float>() + (s * T + c.patch_start()) * D, P * D * sizeof(float));
    x = ops::layer_norm(x, w.at(pre + "norm.weight"), w.at(pre + "norm.bias"), 1e-5f);
    const std::string pj = pre + "projects." + std::to_string(k);
    const Tensor& pw_ = w.at(pj + ".weight");
    Tensor y = ops::linear(x, pw_.reshape({pw_.size(0), D}), w.at(pj + ".bias"));  // [P, oc]
    const int64_t oc = y.size(1);
    Tensor f = Tensor::empty({oc, ph, pw});
    for (int64_t i = 0; i < P; ++i)
      for (int64_t o = 0; o < oc; ++o) f.data<float>()[o * P + i] = y.data<float>()[i * oc + o];
    add_uv_pos_embed(f, W, H);
    const std::string rl = pre + "resize_layers." + std::to_string(k);
    if (k == 0) f = ops::conv_transpose2d(f, w.at(rl + ".weight"), w.at(rl + ".bias"), 4);
    if (k == 1) f = ops::conv_transpose2d(f, w.at(rl + ".weight"), w.at(rl + ".bias"), 2);
    if (k == 3) f = ops::conv2d(f, w.at(rl + ".weight"), w.at(rl + ".bias"), 2, 1);
    feats[k] = ops::conv2d(f, w.at(pre + "scratch.layer" + std::to_string(k + 1) + "_rn.weight"), Tensor(), 1, 1);
  }
  const std::string sc = pre + "scratch.";
  Tensor out = fusion(w, sc + "refinenet4.", feats[3], nullptr, feats[2].size(1), feats[2].size(2));
  out = fusion(w, sc + "refinenet3.", out, &feats[2], feats[1].size(1), feats[1].size(2));
  out = fusion(w, sc + "refinenet2.", out, &feats[1], feats[0].size(1), feats[0].size(2));
  out = fusion(w, sc + "refinenet1.", out, &feats[0], out.size(1) * 2, out.size(2) * 2);
  out = ops::conv2d(out, w.at(sc + "output_conv1.weight"), w.at(sc + "output_conv1.bias"), 1, 1);
  out = ops::interpolate_bilinear(out, ph * c.patch_size, pw * c.patch_size, true);
  add_uv_pos_embed(out, W, H);
  out = ops::conv2d(out, w.at(sc + "output_conv2.0.weight"), w.at(sc + "output_conv2.0.bias"), 1, 1);
  ops::relu_(out);
  return ops::conv2d(out, w.at(sc + "output_conv2.2.weight"), w.at(sc + "output_conv2.2.bias"), 1, 0);
}

}  // namespace vg::vggt
