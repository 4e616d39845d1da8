// Backend-op cases for MCMCStrategy (relocation of dead Gaussians + sample_add, noise on the means) and the
// opacity / scale regularisers (CUDA vs CPU). The multinomial draws run on the host from the same seed, so both
// backends relocate the same rows.
#include <cmath>

#include "../backend_ops.h"
#include "../test_util.h"
#include "splat/mcmc_strategy.h"
#include "splat/regularization.h"

namespace vg::test {
namespace {

Gaussians mcmc_model(int64_t n, std::mt19937& rng, Device d) {
  Gaussians g;
  g.means = normal({n, 3}, 0.0f, 1.0f, rng, d);
  g.scales = uniform({n, 3}, -5.0f, -1.0f, rng, d);
  g.quats = normal({n, 4}, 0.0f, 1.0f, rng, d);
  std::uniform_real_distribution<float> u(-2.0f, 4.0f);
  std::vector<float> opa(static_cast<size_t>(n));
  for (size_t i = 0; i < opa.size(); ++i) opa[i] = i % 5 == 0 ? -9.0f : u(rng);  // every fifth dead
  g.opacities = Tensor::from_vector(opa, {n}, d);
  g.sh0 = normal({n, 3}, 0.0f, 1.0f, rng, d);
  g.shN = normal({n, 15, 3}, 0.0f, 1.0f, rng, d);
  return g;
}

OpOutputs relocate_case(Device d) {
  std::mt19937 rng(21);
  const int64_t n = 20000;
  Gaussians g = mcmc_model(n, rng, d);
  AdamState adam[Gaussians::kGroups];
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    adam[i].exp_avg = normal(g.group(i).shape(), 0.0f, 1.0f, rng, d);
    adam[i].exp_avg_sq = uniform(g.group(i).shape(), 0.0f, 1.0f, rng, d);
  }
  MCMCStrategy s({}, 3, 4);
  s.relocate_dead(g, adam);  // its draws depend only on the uploaded opacities: the same rows on both backends
  // sample_add with a fixed draw: add_new's would read opacities the backends just rounded differently.
  std::vector<int32_t> sampled(700);
  std::uniform_int_distribution<int32_t> row(0, static_cast<int32_t>(n - 1));
  for (int32_t& x : sampled) x = row(rng);
  s.sample_add(g, adam, sampled);
  OpOutputs out;
  for (int i = 0; i < Gaussians::kGroups; ++i) {
    out[std::string(Gaussians::group_name(i))] = g.group(i);
    out[std::string(Gaussians::group_name(i)) + ".m"] = adam[i].exp_avg;
    out[std::string(Gaussians::group_name(i)) + ".v"] = adam[i].exp_avg_sq;
  }
  return out;
}

OpOutputs noise_case(Device d) {
  std::mt19937 rng(22);
  const int64_t n = 100000;
  Gaussians g = mcmc_model(n, rng, d);
  const std::vector<float> before = g.means.to_vector<float>();
  MCMCStrategy({}, 42, 0).inject_noise(g, 0.8f, 1234);
  std::vector<float> after = g.means.to_vector<float>();
  for (size_t k = 0; k < after.size(); ++k) after[k] -= before[k];
  return {{"displacement", Tensor::from_vector(after, {n, 3})}};
}

OpOutputs reg_case(Device d) {
  std::mt19937 rng(23);
  const int64_t n = 100000;
  Gaussians g = mcmc_model(n, rng, d);
  GaussianGrads grads = zeros_like(g);
  grads.opacities = normal({n}, 0.0f, 1e-5f, rng, d);
  const Tensor loss = add_opacity_scale_reg(g, grads, 0.01f, 0.01f);
  return {{"loss", loss}, {"v_opacities", grads.opacities}, {"v_scales", grads.scales}};
}

RegisterOps reg([](std::vector<OpCase>& r) {
  r.push_back({"mcmc/relocate_sample_add/n=20000", relocate_case});
  r.push_back({"mcmc/inject_noise/n=100000", noise_case});
  r.push_back({"regularization/opacity_scale/n=100000", reg_case});
});

}  // namespace
}  // namespace vg::test
