// Evaluation as simple_trainer.py Runner.eval: render every test view at the full SH degree,
// clamp to [0,1], PSNR / SSIM / LPIPS against the ground truth, GT | render canvases.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/cuda_memory.h"
#include "core/fs.h"
#include "core/progress.h"
#include "io/image.h"
#include "metrics/color_correct.h"
#include "metrics/image_metrics.h"
#include "metrics/lpips.h"
#include "splat/pose_opt.h"
#include "splat/preprocess.h"
#include "splat/trainer.h"

namespace vg {

namespace {

// [H,W,3] on the host, clamped to [0,1].
Tensor clamped_host(const Tensor& t) {
  Tensor h = t.to(Device::cpu());
  float* p = h.data<float>();
  for (int64_t i = 0; i < h.numel(); ++i) p[i] = std::min(1.0f, std::max(0.0f, p[i]));
  return h;
}

// Ground truth left, render right.
Image side_by_side(const Tensor& gt, const Tensor& render) {
  int h = static_cast<int>(gt.size(0)), w = static_cast<int>(gt.size(1));
  Image img;
  img.width = 2 * w;
  img.height = h;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(img.width) * h * 3);
  const float* a = gt.data<float>();
  const float* b = render.data<float>();
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        size_t src = (static_cast<size_t>(y) * w + x) * 3 + c;
        img.pixels[(static_cast<size_t>(y) * img.width + x) * 3 + c] = a[src];
        img.pixels[(static_cast<size_t>(y) * img.width + w + x) * 3 + c] = b[src];
      }
  return img;
}

}  // namespace

const Lpips* Trainer::lpips(std::string& reason) {
  if (!lpips_tried_) {
    lpips_tried_ = true;
    std::string path = cfg_.lpips_weights;
    if (path.empty())
      if (const char* e = std::getenv("VGSPLAT_LPIPS_WEIGHTS")) path = e;
    if (path.empty()) {
      lpips_reason_ = "no LPIPS weights (pass --lpips-weights FILE or set VGSPLAT_LPIPS_WEIGHTS)";
    } else {
      try {
        lpips_ = std::make_unique<Lpips>(Lpips::load(path));
      } catch (const std::exception& e) {
        lpips_reason_ = std::string("cannot load LPIPS weights: ") + e.what();
      }
    }
    if (!lpips_) log_warn("LPIPS disabled: " + lpips_reason_);
  }
  reason = lpips_reason_;
  return lpips_.get();
}

// Test-time pose optimisation: the Gaussians frozen, one 9-dim residual of `start` (PoseOptimizer with one
// image), the training loss (L1 + SSIM) on the test image.
Camera Trainer::optimise_test_pose(const Camera& start, const Tensor& gt) {
  PoseOptConfig pc;
  pc.optimise = true;
  pc.lr = cfg_.eval_pose_opt_lr;
  pc.reg = 0.0f;
  pc.max_steps = cfg_.eval_pose_opt_steps;
  PoseOptimizer po(1, pc);
  const Tensor gt_dev = gt.to(device_);
  GaussianGrads scratch = zeros_like(g_);  // the Gaussians' gradients, not used
  const PreprocessSettings ps = preprocess_settings(cfg_, cfg_.sh_degree);
  for (int it = 0; it < cfg_.eval_pose_opt_steps; ++it) {
    const Camera cam = po.train_camera(0, start);
    Render r = render_view(g_, cam, cfg_.sh_degree, cfg_);
    PhotometricLoss loss = photometric_loss(r.raster.colors, gt_dev, cfg_.ssim_lambda);
    RasterGrads rg = rasterize_backward(r.pre.means2d, r.pre.conics, r.pre.colors, r.pre.opacities, cfg_.background,
                                        r.isect, cam.width, cam.height, r.raster, loss.v_render, Tensor(), false);
    Tensor v_viewmat;
    preprocess_backward(g_, cam, ps, r.pre, PreprocessGradsIn{rg.v_means2d, rg.v_conics, rg.v_opacities, rg.v_colors},
                        scratch, &v_viewmat);
    po.step(0, start, v_viewmat, it);
  }
  return po.train_camera(0, start);
}

Camera Trainer::eval_camera(const View& v, const Tensor& gt, const std::optional<Camera>& aligned) {
  Camera cam = aligned ? *aligned : v.camera;
  if (pose_ && pose_->optimising() && cfg_.eval_pose_opt_steps > 0) cam = optimise_test_pose(cam, gt);
  return cam;
}

EvalStats Trainer::evaluate(int step, bool write_outputs) {
  VG_CHECK(!data_.test.empty(), "the dataset has no test views to evaluate");
  std::string reason;
  const Lpips* lp = lpips(reason);
  EvalStats st;
  st.step = step;
  double lpips_sum = 0, render_time = 0;
  fs::path renders = fs::path(cfg_.result_dir) / "renders";
  // --pose-opt: the test cameras in the optimised cameras' frame, then optionally optimised on their images.
  const bool adjust = pose_ && pose_->optimising() && (cfg_.eval_pose_align || cfg_.eval_pose_opt_steps > 0);
  std::optional<pose::Sim3> gauge;
  if (adjust && cfg_.eval_pose_align) {
    std::vector<Camera> given;
    for (const View& t : data_.train) given.push_back(t.camera);
    gauge = pose_->gauge(given);
  }
  if (adjust) {
    st.test_poses = cfg_.eval_pose_align ? "aligned" : "given";
    if (cfg_.eval_pose_opt_steps > 0)
      st.test_poses += " + optimised (" + std::to_string(cfg_.eval_pose_opt_steps) + " steps)";
    st.psnr_given = 0.0, st.ssim_given = 0.0;
  }
  for (size_t i = 0; i < data_.test.size(); ++i) {
    const View& v = data_.test[i];
    Tensor gt = data_.load_image(v);
    Camera cam = v.camera;
    if (adjust) {
      Tensor at_given = clamped_host(render_view(g_, v.camera, cfg_.sh_degree, cfg_).raster.colors);
      *st.psnr_given += psnr(at_given, gt);
      *st.ssim_given += ssim(at_given, gt);
      std::optional<Camera> aligned;
      if (gauge) {
        aligned = v.camera;
        pose::set_viewmat(*aligned, pose::transform_viewmat(pose::to_mat34(v.camera), *gauge));
      }
      cam = eval_camera(v, gt, aligned);
      // the change, in the given frame: the adjusted camera mapped back by the gauge's inverse
      pose::Mat34 back = pose::to_mat34(cam);
      if (gauge) {
        pose::Sim3 inv;
        inv.s = 1.0 / gauge->s, inv.R = gauge->R.transpose(), inv.t = -inv.R * gauge->t / gauge->s;
        back = pose::transform_viewmat(back, inv);
      }
      st.test_pose_rot_deg += pose::rotation_error_deg(back, pose::to_mat34(v.camera));
      st.test_pose_center += pose::center_distance(back, pose::to_mat34(v.camera));
    }
    if (device_.is_cuda()) cuda_synchronize();
    auto tic = std::chrono::steady_clock::now();
    Render r = render_view(g_, cam, cfg_.sh_degree, cfg_);
    if (device_.is_cuda()) cuda_synchronize();
    render_time += std::max(std::chrono::duration<double>(std::chrono::steady_clock::now() - tic).count(), 1e-10);
    Tensor img = clamped_host(r.raster.colors);

    char name[64];
    std::snprintf(name, sizeof name, "val_step%d_%04zu.png", step, i);
    if (write_outputs) write_png(renders / name, side_by_side(gt, img));
    st.psnr += psnr(img, gt);
    st.ssim += ssim(img, gt);
    if (lp) lpips_sum += lp->distance(img, gt);
    if (cfg_.use_color_correction_metric) {
      const Tensor cc = color_correct(img, gt, cfg_.color_correct_method);
      st.cc_psnr = st.cc_psnr.value_or(0.0) + psnr(cc, gt);
      st.cc_ssim = st.cc_ssim.value_or(0.0) + ssim(cc, gt);
      if (lp) st.cc_lpips = st.cc_lpips.value_or(0.0) + lp->distance(cc, gt);
    }
  }
  double n = static_cast<double>(data_.test.size());
  st.psnr /= n;
  st.ssim /= n;
  if (adjust) {
    *st.psnr_given /= n, *st.ssim_given /= n;
    st.test_pose_rot_deg /= n, st.test_pose_center /= n;
  }
  if (st.cc_psnr) *st.cc_psnr /= n, *st.cc_ssim /= n;
  if (st.cc_lpips) *st.cc_lpips /= n;
  if (lp) st.lpips = lpips_sum / n;
  else st.lpips_reason = reason;
  st.ellipse_time = render_time / n;
  st.num_gs = g_.size();

  nlohmann::json j = {{"psnr", st.psnr}, {"ssim", st.ssim}, {"ellipse_time", st.ellipse_time}, {"num_GS", st.num_gs}};
  if (st.lpips) {
    j["lpips"] = *st.lpips;
  } else {
    j["lpips"] = nullptr;
    j["lpips_reason"] = st.lpips_reason;
  }
  if (st.cc_psnr) {
    j["cc_psnr"] = *st.cc_psnr;
    j["cc_ssim"] = *st.cc_ssim;
    j["cc_lpips"] = st.cc_lpips ? nlohmann::json(*st.cc_lpips) : nlohmann::json(nullptr);
    j["color_correct_method"] = cfg_.color_correct_method;
  }
  if (adjust) {
    j["test_poses"] = st.test_poses;
    j["psnr_at_given_poses"] = *st.psnr_given;
    j["ssim_at_given_poses"] = *st.ssim_given;
    j["test_pose_change"] = {{"rotation_mean_deg", st.test_pose_rot_deg}, {"center_mean", st.test_pose_center}};
  }
  char stats[64];
  std::snprintf(stats, sizeof stats, "val_step%04d.json", step);
  if (write_outputs) write_file_atomic(fs::path(cfg_.result_dir) / "stats" / stats, j.dump(2));
  char line[200];
  std::snprintf(line, sizeof line, "step %d: PSNR %.3f, SSIM %.4f, LPIPS %s, %.4f s/image, %lld GSs", step, st.psnr,
                st.ssim, st.lpips ? std::to_string(*st.lpips).c_str() : "n/a", st.ellipse_time,
                static_cast<long long>(st.num_gs));
  log_info(line);
  if (st.cc_psnr) {
    std::snprintf(line, sizeof line, "  colour-corrected (%s): CC_PSNR %.3f, CC_SSIM %.4f, CC_LPIPS %s",
                  cfg_.color_correct_method.c_str(), *st.cc_psnr, *st.cc_ssim,
                  st.cc_lpips ? std::to_string(*st.cc_lpips).c_str() : "n/a");
    log_info(line);
  }
  if (adjust) {
    std::snprintf(line, sizeof line, "  test cameras %s (moved %.4f deg, %.5f): at the given ones PSNR %.3f, SSIM %.4f",
                  st.test_poses.c_str(), st.test_pose_rot_deg, st.test_pose_center, *st.psnr_given, *st.ssim_given);
    log_info(line);
  }
  return st;
}

}  // namespace vg
