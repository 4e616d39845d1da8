// The trainer's side of --post-processing bilateral_grid (gsplat simple_trainer): one bilateral grid per training
// image (splat/bilateral_grid.h), identity at the start. A training step's render goes through its image's grid
// before the photometric loss; the loss gets + tv_weight x TV(all grids); the grids have their own Adam (lr
// 2e-3 x sqrt(batch size 1), eps 1e-15) with torch's ChainedScheduler of LinearLR(start_factor 0.01, total_iters
// 1000) and ExponentialLR(gamma = 0.01^(1/max_steps)), stepped after every step. Evaluation renders stay raw.
#pragma once
#include "core/tensor.h"
#include "splat/adam.h"
#include "splat/bilateral_grid.h"

namespace vg {

struct BilateralGridConfig {
  BilateralGridShape shape;  // --bilateral-grid-shape
  float lr = 2e-3f;          // --bilateral-grid-lr
  int warmup = 1000;         // LinearLR total_iters (--bilateral-grid-warmup)
  float tv_weight = 10.0f;   // simple_trainer: loss += 10 * total_variation_loss(grids)
  int max_steps = 30000;     // the exponential decay reaches 1% here
};

class BilateralGridOptimizer {
 public:
  BilateralGridOptimizer(int n_images, const BilateralGridConfig& cfg, Device device);

  // Training image `image`'s render [H, W, 3] through its grid.
  Tensor slice(int image, const Tensor& render) const;
  // After the loss of slice(image, render) with v_out = d loss / d sliced: the grids' gradient (the slice's and
  // the TV loss's), one Adam step at 0-based training step `step`; returns d loss / d render. The TV loss
  // (weighted, F32 [1] on the device) is kept in tv_loss().
  Tensor backward_and_step(int image, const Tensor& render, const Tensor& v_out, int step);
  // The same in two parts, for a batch of views (--batch-size): each view's slice backward adds to the grids'
  // gradient (returns d loss / d render); step() scales that sum by grad_scale (1 / batch: the batch's loss is the
  // mean of its views'), adds the TV loss's gradient and takes the Adam step.
  Tensor backward(int image, const Tensor& render, const Tensor& v_out);
  void step(int step, float grad_scale = 1.0f);
  // The learning rate of 0-based step `step`.
  double lr(int step) const;

  const Tensor& grids() const { return grids_; }  // [n, 12, w, y, x] on the device
  const AdamState& adam() const { return adam_; }
  const Tensor& tv_loss() const { return tv_loss_; }  // of the last step (undefined before)
  // Checkpoint restore (shapes checked).
  void restore(const Tensor& grids, const AdamState& adam);

 private:
  BilateralGridConfig cfg_;
  Device device_;
  Tensor grids_;
  AdamState adam_;
  Tensor tv_loss_;
  Tensor v_grids_;  // the slices' gradient since the last step
};

}  // namespace vg
