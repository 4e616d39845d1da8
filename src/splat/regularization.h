// gsplat simple_trainer's Gaussian regularisers (losses.py): opacity_reg * mean(sigmoid(opacities)) +
// scale_reg * mean(exp(scales)) over the raw parameters, with their gradients added to the parameter
// gradients before the optimizer step (the MCMC preset sets both weights to 0.01).
#pragma once
#include "core/tensor.h"
#include "splat/gaussians.h"

namespace vg {

// Adds d(loss)/d(raw opacities) = opacity_reg * s (1 - s) / N and d(loss)/d(raw scales) = scale_reg * exp(s) / (3N)
// to grads.opacities / grads.scales (in place) and returns the loss, an F32 [1] tensor on g's device (read it only
// when needed: on CUDA that is a host sync).
Tensor add_opacity_scale_reg(const Gaussians& g, GaussianGrads& grads, float opacity_reg, float scale_reg);

}  // namespace vg
