#include "splat/gaussians.h"

#include <cmath>

namespace vg {

int Gaussians::max_sh_degree() const {
  int k = static_cast<int>(shN.size(1)) + 1;
  int d = static_cast<int>(std::lround(std::sqrt(static_cast<double>(k)))) - 1;
  VG_CHECK(sh_coeffs(d) == k, "shN has ", k - 1, " coefficients, not (d+1)^2-1 for any degree d");
  return d;
}

const char* Gaussians::group_name(int i) {
  static const char* names[kGroups] = {"means", "scales", "quats", "opacities", "sh0", "shN"};
  return names[i];
}

Tensor& Gaussians::group(int i) {
  Tensor* g[kGroups] = {&means, &scales, &quats, &opacities, &sh0, &shN};
  return *g[i];
}

const Tensor& Gaussians::group(int i) const { return const_cast<Gaussians*>(this)->group(i); }

Gaussians Gaussians::to(Device d) const {
  Gaussians out;
  for (int i = 0; i < kGroups; ++i) out.group(i) = group(i).to(d);
  return out;
}

GaussianGrads zeros_like(const Gaussians& g) {
  GaussianGrads out;
  for (int i = 0; i < Gaussians::kGroups; ++i)
    out.group(i) = Tensor::zeros(g.group(i).shape(), g.group(i).dtype(), g.group(i).device());
  return out;
}

}  // namespace vg
