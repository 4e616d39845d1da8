// Backend-op cases for the training loss: photometric_loss forward scalars and v_render.
#include <algorithm>
#include <random>
#include <string>

#include "tests/backend_ops.h"
#include "metrics/loss.h"
#include "tests/test_util.h"

namespace vg::test {
namespace {

// gt = clamp(render + N(0, 0.15)): realistic SSIM values, few exact L1 ties.
OpOutputs run_photometric_loss(Device d, int H, int W, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor render = uniform({H, W, 3}, 0.f, 1.f, rng);
  Tensor noise = normal({H, W, 3}, 0.f, 0.15f, rng);
  std::vector<float> g = render.to_vector<float>(), n = noise.to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i) g[i] = std::min(1.f, std::max(0.f, g[i] + n[i]));
  Tensor gt = Tensor::from_vector(g, {H, W, 3});
  PhotometricLoss out = photometric_loss(render.to(d), gt.to(d), 0.2f);
  return {{"loss", out.loss}, {"l1", out.l1}, {"ssim", out.ssim}, {"v_render", out.v_render}};
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  for (auto [H, W, seed] : {std::tuple{64, 80, 21u}, std::tuple{400, 400, 22u}}) {
    std::string name = "photometric_loss/" + std::to_string(H) + "x" + std::to_string(W);
    cases.push_back({name, [H = H, W = W, seed = seed](Device d) { return run_photometric_loss(d, H, W, seed); },
                     1e-4});
  }
});

}  // namespace
}  // namespace vg::test
