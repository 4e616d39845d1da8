// Adam (Kingma & Ba 2015) with bias correction, as torch.optim.Adam, one state per parameter group.
#pragma once
#include "core/tensor.h"

namespace vg {

struct AdamState {
  Tensor exp_avg;     // first moment, same shape as the parameter
  Tensor exp_avg_sq;  // second moment
  long long step = 0; // updates taken (bias correction)
};

struct AdamConfig {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-15f;
};

AdamState adam_init(const Tensor& param);
// In place: param -= lr * mhat / (sqrt(vhat) + eps). Increments state.step first (torch semantics).
void adam_step(Tensor& param, const Tensor& grad, AdamState& state, const AdamConfig& cfg);

}  // namespace vg
