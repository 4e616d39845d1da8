#include "splat/bilateral_grid_opt.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/tensor_ops.h"

namespace vg {

BilateralGridOptimizer::BilateralGridOptimizer(int n_images, const BilateralGridConfig& cfg, Device device)
    : cfg_(cfg), device_(device) {
  VG_CHECK(n_images > 0, "bilateral grid: needs training images");
  VG_CHECK(cfg.max_steps > 0 && cfg.warmup >= 0, "bilateral grid: bad schedule");
  grids_ = bilateral_grid_identity(n_images, cfg.shape, device);
  adam_ = adam_init(grids_);
}

Tensor BilateralGridOptimizer::slice(int image, const Tensor& render) const {
  return bilateral_grid_slice(grids_, image, render);
}

double BilateralGridOptimizer::lr(int step) const {
  // Chained LinearLR(0.01 -> 1 over `warmup` steps) x ExponentialLR(0.01^(1/max_steps)), both stepped after every
  // optimizer step: the product of their closed forms.
  const double s = static_cast<double>(std::max(step, 0));
  const double linear = cfg_.warmup > 0 ? 0.01 + 0.99 * std::min(s, static_cast<double>(cfg_.warmup)) / cfg_.warmup : 1.0;
  return static_cast<double>(cfg_.lr) * linear * std::pow(0.01, s / cfg_.max_steps);
}

Tensor BilateralGridOptimizer::backward_and_step(int image, const Tensor& render, const Tensor& v_out, int step) {
  Tensor v_render = backward(image, render, v_out);
  this->step(step);
  return v_render;
}

Tensor BilateralGridOptimizer::backward(int image, const Tensor& render, const Tensor& v_out) {
  if (!v_grids_.defined()) v_grids_ = Tensor::zeros(grids_.shape(), DType::F32, device_);
  return bilateral_grid_slice_backward(grids_, image, render, v_out, v_grids_);
}

void BilateralGridOptimizer::step(int step, float grad_scale) {
  if (!v_grids_.defined()) v_grids_ = Tensor::zeros(grids_.shape(), DType::F32, device_);
  if (grad_scale != 1.0f) axpy_(v_grids_, grad_scale - 1.0f, v_grids_);  // in place: v *= grad_scale
  tv_loss_ = bilateral_grid_tv_loss(grids_, cfg_.tv_weight, v_grids_);
  AdamConfig ac;
  ac.lr = static_cast<float>(lr(step));
  ac.eps = 1e-15f;  // simple_trainer's bilateral-grid Adam
  adam_step(grids_, v_grids_, adam_, ac);
  fill_(v_grids_, 0.0f);
}

void BilateralGridOptimizer::restore(const Tensor& grids, const AdamState& adam) {
  VG_CHECK(grids.defined() && grids.shape() == grids_.shape() && grids.dtype() == DType::F32,
           "checkpoint: bilateral grids of shape ", grids.defined() ? shape_str(grids.shape()) : "(none)",
           ", this training expects ", shape_str(grids_.shape()));
  grids_ = grids.to(device_);
  if (adam.exp_avg.defined()) {
    VG_CHECK(adam.exp_avg.shape() == grids_.shape() && adam.exp_avg_sq.shape() == grids_.shape(),
             "checkpoint: bilateral-grid Adam moments do not match the grids");
    adam_.exp_avg = adam.exp_avg.to(device_);
    adam_.exp_avg_sq = adam.exp_avg_sq.to(device_);
    adam_.step = adam.step;
  }
}

}  // namespace vg
