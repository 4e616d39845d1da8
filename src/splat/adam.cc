#include "splat/adam.h"

#include <cmath>

#include "core/parallel.h"
#include "splat/adam_kernels.h"
#include "splat/adam_update.h"

namespace vg {
namespace {

detail::AdamScalars scalars(const AdamConfig& cfg, long long step) {
  double b1 = cfg.beta1, b2 = cfg.beta2, t = static_cast<double>(step);
  double bc1 = 1.0 - std::pow(b1, t), bc2 = 1.0 - std::pow(b2, t);
  detail::AdamScalars s;
  s.one_minus_beta1 = static_cast<float>(1.0 - b1);
  s.beta2 = cfg.beta2;
  s.one_minus_beta2 = static_cast<float>(1.0 - b2);
  s.step_size = static_cast<float>(cfg.lr / bc1);
  s.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  s.eps = cfg.eps;
  return s;
}

void check_same(const char* what, const Tensor& t, const Tensor& param) {
  VG_CHECK(t.defined() && t.dtype() == DType::F32 && t.shape() == param.shape() && t.device() == param.device(),
           "adam_step: ", what, " is ", t.defined() ? dtype_name(t.dtype()) : "undefined",
           t.defined() ? shape_str(t.shape()) : "", ", parameter is f32", shape_str(param.shape()), " on ",
           param.device().str());
}

}  // namespace

AdamState adam_init(const Tensor& param) {
  VG_CHECK(param.defined() && param.dtype() == DType::F32, "adam_init: parameter must be a defined f32 tensor");
  AdamState s;
  s.exp_avg = Tensor::zeros(param.shape(), DType::F32, param.device());
  s.exp_avg_sq = Tensor::zeros(param.shape(), DType::F32, param.device());
  return s;
}

void adam_step(Tensor& param, const Tensor& grad, AdamState& state, const AdamConfig& cfg) {
  VG_CHECK(param.defined() && param.dtype() == DType::F32, "adam_step: parameter must be a defined f32 tensor");
  check_same("grad", grad, param);
  check_same("exp_avg", state.exp_avg, param);
  check_same("exp_avg_sq", state.exp_avg_sq, param);
  state.step += 1;
  const detail::AdamScalars s = scalars(cfg, state.step);
  const int64_t n = param.numel();
  float* p = param.data<float>();
  const float* g = grad.data<float>();
  float* m = state.exp_avg.data<float>();
  float* v = state.exp_avg_sq.data<float>();
  if (n == 0) return;
  if (param.is_cuda()) {
    detail::adam_step_cuda(p, g, m, v, n, s);
    return;
  }
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) detail::adam_update(p[i], g[i], m[i], v[i], s);
  }, 1 << 15);
}

}  // namespace vg
