// Backend-op cases of the fused preprocess: a few thousand random Gaussians around a camera, SH
// degree 3, classic and antialiased; forward outputs and every gradient (with the viewmat's), CUDA
// against the CPU.
#include <cmath>
#include <random>

#include "../backend_ops.h"
#include "../test_util.h"
#include "splat/preprocess.h"

namespace vg::test {
namespace {

constexpr int64_t kN = 4000;

Camera ops_camera() {
  Camera cam;
  // Rotation of 0.2 rad about y, camera 5 units from the origin looking roughly at it.
  float c = std::cos(0.2f), s = std::sin(0.2f);
  cam.viewmat = {c, 0, -s, 0.1f, 0, 1, 0, -0.2f, s, 0, c, 5.0f, 0, 0, 0, 1};
  cam.fx = 300, cam.fy = 310, cam.cx = 160, cam.cy = 118, cam.width = 320, cam.height = 240;
  return cam;
}

// Means mostly inside the view frustum (some outside or behind, to exercise culling).
Gaussians ops_gaussians(std::mt19937& rng, Device d) {
  Gaussians g;
  g.means = uniform({kN, 3}, -3.f, 3.f, rng, d);
  g.scales = uniform({kN, 3}, -4.5f, -1.5f, rng, d);
  g.quats = normal({kN, 4}, 0.f, 1.f, rng, d);
  g.opacities = normal({kN}, 0.f, 1.5f, rng, d);
  g.sh0 = normal({kN, 3}, 0.f, 0.5f, rng, d);
  g.shN = normal({kN, 15, 3}, 0.f, 0.1f, rng, d);
  return g;
}

PreprocessSettings ops_settings(bool aa) {
  PreprocessSettings s;
  s.sh_degree = 3;
  s.antialiased = aa;
  return s;
}

OpOutputs run_forward(Device d, bool aa, bool radii_only) {
  std::mt19937 rng(1234);
  Gaussians g = ops_gaussians(rng, d);
  PreprocessOut o = preprocess_forward(g, ops_camera(), ops_settings(aa));
  if (radii_only) return {{"radii", o.radii}};
  return {{"means2d", o.means2d}, {"depths", o.depths},       {"conics", o.conics},
          {"compensations", o.compensations}, {"opacities", o.opacities}, {"colors", o.colors}};
}

OpOutputs run_backward(Device d, bool aa, bool viewmat = false) {
  std::mt19937 rng(1234);
  Gaussians g = ops_gaussians(rng, d);
  Camera cam = ops_camera();
  PreprocessSettings s = ops_settings(aa);
  PreprocessOut fwd = preprocess_forward(g, cam, s);
  PreprocessGradsIn v{normal({kN, 2}, 0.f, 1.f, rng, d), normal({kN, 3}, 0.f, 10.f, rng, d),
                      normal({kN}, 0.f, 1.f, rng, d), normal({kN, 3}, 0.f, 1.f, rng, d)};
  GaussianGrads grads = zeros_like(g);
  Tensor v_viewmat;
  preprocess_backward(g, cam, s, fwd, v, grads, viewmat ? &v_viewmat : nullptr);
  if (viewmat) return {{"v_viewmat", v_viewmat}, {"v_means", grads.means}, {"v_shN", grads.shN}};
  OpOutputs out;
  for (int i = 0; i < Gaussians::kGroups; ++i) out[std::string("v_") + Gaussians::group_name(i)] = grads.group(i);
  return out;
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  for (bool aa : {false, true}) {
    std::string tag = std::string("/n=4000/sh3/") + (aa ? "antialiased" : "classic");
    cases.push_back({"preprocess_forward" + tag, [aa](Device d) { return run_forward(d, aa, false); }, 1e-4});
    // Radii are integers (ceil): allow a rare off-by-one from fast-math rounding, catch real errors.
    cases.push_back({"preprocess_radii" + tag, [aa](Device d) { return run_forward(d, aa, true); }, 2e-3});
    cases.push_back({"preprocess_backward" + tag, [aa](Device d) { return run_backward(d, aa); }, 1e-4});
    // d loss / d viewmat (pose optimisation): a sum over 4000 Gaussians, block-reduced + atomics on the
    // GPU, in double over fixed blocks on the CPU.
    cases.push_back({"preprocess_backward_viewmat" + tag, [aa](Device d) { return run_backward(d, aa, true); }, 1e-3});
  }
});

}  // namespace
}  // namespace vg::test
