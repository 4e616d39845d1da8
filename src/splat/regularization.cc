#include "splat/regularization.h"

#include <vector>

#include "core/parallel.h"
#include "splat/regularization_kernels.h"

namespace vg {

Tensor add_opacity_scale_reg(const Gaussians& g, GaussianGrads& grads, float opacity_reg, float scale_reg) {
  const int64_t n = g.size();
  g.opacities.expect("reg opacities", {n});
  g.scales.expect("reg scales", {n, 3});
  grads.opacities.expect("reg opacity gradients", {n});
  grads.scales.expect("reg scale gradients", {n, 3});
  VG_CHECK(grads.opacities.device() == g.device() && grads.scales.device() == g.device(),
           "reg: gradients on another device than the Gaussians");
  const Device d = g.device();
  Tensor loss = Tensor::zeros({1}, DType::F32, d);
  if (n == 0) return loss;
  const float wo = static_cast<float>(opacity_reg / static_cast<double>(n));
  const float ws = static_cast<float>(scale_reg / (3.0 * static_cast<double>(n)));
  const float *o = g.opacities.data<float>(), *s = g.scales.data<float>();
  float *vo = grads.opacities.data<float>(), *vs = grads.scales.data<float>();
  if (d.is_cuda()) {
    detail::opacity_scale_reg_cuda(n, o, s, wo, ws, vo, vs, loss.data<float>());
    return loss;
  }
  std::vector<float> rows(static_cast<size_t>(n));
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) rows[i] = detail::reg_row(i, o, s, wo, ws, vo, vs);
  }, 1 << 14);
  double total = 0;  // in row order: the same value for any thread count
  for (float r : rows) total += r;
  loss.data<float>()[0] = static_cast<float>(total);
  return loss;
}

}  // namespace vg
