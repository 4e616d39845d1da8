// The 3D Gaussian Splatting model (Kerbl et al. 2023): per-Gaussian parameters in their raw
// (pre-activation) form, as gsplat stores them.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vg {

inline int sh_coeffs(int degree) { return (degree + 1) * (degree + 1); }

struct Gaussians {
  Tensor means;      // [N,3] world positions
  Tensor scales;     // [N,3] log of the axis scales (activation: exp)
  Tensor quats;      // [N,4] rotation (w,x,y,z), unnormalised (activation: normalise)
  Tensor opacities;  // [N]   logit of opacity (activation: sigmoid)
  Tensor sh0;        // [N,3] degree-0 SH coefficient (DC) per colour channel
  Tensor shN;        // [N,K-1,3] higher-order SH coefficients, K = (max_sh_degree+1)^2

  int64_t size() const { return means.defined() ? means.size(0) : 0; }
  int max_sh_degree() const;  // from shN's second dimension
  Device device() const { return means.device(); }
  Gaussians to(Device d) const;

  // The parameter groups in a fixed order (means, scales, quats, opacities, sh0, shN), for
  // optimisers and densification that treat every group alike.
  static constexpr int kGroups = 6;
  static const char* group_name(int i);
  Tensor& group(int i);
  const Tensor& group(int i) const;
};

// Gradients have the same layout as the parameters.
using GaussianGrads = Gaussians;
GaussianGrads zeros_like(const Gaussians& g);

}  // namespace vg
