// Backend-op cases for bundle adjustment: one full Levenberg-Marquardt solve on a perturbed synthetic scene
// (final cost, poses, camera parameters, points) on CUDA (dense Cholesky) vs the CPU (sparse LDLT), run to tight
// tolerances so both stop at the same minimum.
#include <string>
#include <vector>

#include "sfm/bundle_adjustment.h"
#include "sfm/bundle_adjustment_synthetic.h"
#include "tests/backend_ops.h"

namespace vg::test {
namespace {

OpOutputs run_bundle_adjust(Device d, const std::string& model, BundleOptions::Loss loss, double outliers,
                            int images, int points, double visibility) {
  BaSceneOptions so;
  so.camera_model = model;
  so.shared_camera = model != "PINHOLE";
  so.outlier_fraction = outliers;
  so.num_images = images, so.num_points = points, so.visibility = visibility;
  ColmapModel m = perturb_ba_scene(make_ba_scene(so), 2.0, 0.1, 0.05, 0.03, 17);
  BundleOptions opt;
  opt.loss = loss;
  opt.loss_scale = 2.0;
  opt.function_tolerance = 1e-13, opt.parameter_tolerance = 1e-13, opt.gradient_tolerance = 1e-12;
  opt.max_iterations = 40;
  opt.device = d;
  BundleSummary s = bundle_adjust(m, opt);
  std::vector<float> poses, cams, pts;
  for (auto& [iid, im] : m.images) {
    for (double v : im.qvec) poses.push_back(static_cast<float>(v));
    for (double v : im.tvec) poses.push_back(static_cast<float>(v));
  }
  for (auto& [cid, cam] : m.cameras)
    for (double v : cam.params) cams.push_back(static_cast<float>(v));
  for (auto& [pid, p] : m.points)
    for (double v : p.xyz) pts.push_back(static_cast<float>(v));
  auto t = [](const std::vector<float>& v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); };
  return {{"cost", t({static_cast<float>(s.final_cost)})}, {"poses", t(poses)}, {"cameras", t(cams)}, {"points", t(pts)}};
}

RegisterOps reg([](std::vector<OpCase>& cases) {
  cases.push_back({"bundle_adjust/pinhole/10img",
                   [](Device d) { return run_bundle_adjust(d, "PINHOLE", BundleOptions::Loss::Trivial, 0, 10, 200, 1); },
                   1e-6});
  cases.push_back({"bundle_adjust/opencv_cauchy/30img", [](Device d) {
                     return run_bundle_adjust(d, "OPENCV", BundleOptions::Loss::Cauchy, 0.05, 30, 1500, 0.3);
                   },
                   1e-6});
});

}  // namespace
}  // namespace vg::test
