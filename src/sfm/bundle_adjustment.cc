// Bundle adjustment: the ColmapModel <-> flat problem conversion, the gauge, and the Levenberg-Marquardt
// driver with Ceres' trust-region semantics (LevenbergMarquardtStrategy, TrustRegionMinimizer).
#include "sfm/bundle_adjustment.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "core/error.h"
#include "sfm/bundle_adjustment_math.h"
#include "sfm/bundle_adjustment_flat.h"
#include "sfm/bundle_adjustment_problem.h"

namespace vg {

namespace ba {

void camera_free_mask(int model, const BundleOptions& opt, unsigned char* mask) {
  const bool single_f = model == 0 || model == 2 || model == 3;
  const int nf = single_f ? 1 : 2, np = ba::num_cam_params(model);
  for (int i = 0; i < kMaxCamParams; ++i) {
    bool f = false;
    if (i < nf) f = opt.refine_focal;
    else if (i < nf + 2) f = opt.refine_principal_point;
    else if (i < np) f = opt.refine_extra_params;
    mask[i] = f ? 1 : 0;
  }
}

int add_camera(Problem& p, const ColmapCamera& cam, const BundleOptions& opt) {
  const int model = colmap_model_id(cam.model);
  VG_CHECK(model >= 0 && model <= 4, "bundle_adjust: camera ", cam.id, " model ", cam.model,
           " unsupported (SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV)");
  VG_CHECK(static_cast<int>(cam.params.size()) == num_cam_params(model), "bundle_adjust: camera ", cam.id, " has ",
           cam.params.size(), " params, ", cam.model, " needs ", num_cam_params(model));
  p.cam_model.push_back(model);
  for (int i = 0; i < kMaxCamParams; ++i) p.cam_params.push_back(i < (int)cam.params.size() ? cam.params[i] : 0);
  unsigned char mask[kMaxCamParams];
  camera_free_mask(model, opt, mask);
  const bool fixed = opt.constant_cameras.count(cam.id) > 0;
  for (int i = 0; i < kMaxCamParams; ++i) p.cam_free.push_back(fixed ? 0 : mask[i]);
  return p.num_cameras++;
}

void add_pose(Problem& p, const double* qvec, const double* tvec, bool fixed, uint32_t image_id) {
  const double n = std::sqrt(qvec[0] * qvec[0] + qvec[1] * qvec[1] + qvec[2] * qvec[2] + qvec[3] * qvec[3]);
  VG_CHECK(n > 0 && std::isfinite(n), "bundle_adjust: image ", image_id, " has an invalid quaternion");
  for (int i = 0; i < 4; ++i) p.poses.push_back(qvec[i] / n);
  for (int i = 0; i < 3; ++i) p.poses.push_back(tvec[i]);
  for (int i = 0; i < 6; ++i) p.pose_free.push_back(fixed ? 0 : 1);
}

void fix_gauge(Problem& p, const BundleOptions& opt) {
  if (!opt.constant_poses.empty() || !opt.fix_gauge_automatically || !p.points_free || p.num_images == 0) return;
  // COLMAP's gauge: the first image's pose and one translation coordinate of the second (here the one
  // along which the baseline is largest in the second camera's frame, so that it fixes the scale).
  for (int i = 0; i < 6; ++i) p.pose_free[i] = 0;
  if (p.num_images > 1) {
    const double* q1 = &p.poses[0];
    const double* t1 = &p.poses[4];
    const double* q2 = &p.poses[7];
    const double* t2 = &p.poses[11];
    double c1[3], q1c[4] = {q1[0], -q1[1], -q1[2], -q1[3]}, b[3];
    quat_rotate(q1c, t1, c1);  // R1^T t1 = -C1
    quat_rotate(q2, c1, b);    // R2 R1^T t1
    int best = 0;
    for (int i = 0; i < 3; ++i) {
      b[i] = t2[i] - b[i];
      if (std::fabs(b[i]) > std::fabs(b[best])) best = i;
    }
    p.pose_free[6 + 3 + best] = 0;
  }
}

}  // namespace ba

namespace {

using ba::kMaxCamParams;
using ba::camera_free_mask;

struct Index {
  std::vector<uint32_t> image_ids, camera_ids;
  std::vector<uint64_t> point_ids;
};

ba::Problem build_problem(const ColmapModel& m, const BundleOptions& opt, Index& idx) {
  ba::Problem p;
  p.loss = static_cast<int>(opt.loss);  // 0 trivial, 1 Huber, 2 Cauchy, 3 soft L1 (loss_eval)
  p.loss_scale = opt.loss_scale;
  VG_CHECK(p.loss == 0 || opt.loss_scale > 0, "bundle_adjust: loss_scale must be > 0, got ", opt.loss_scale);
  // Observations per point, images with at least one observation.
  std::map<uint64_t, std::vector<std::pair<int, int>>> obs_of_point;  // point id -> (image idx, kp idx)
  std::map<uint32_t, int> image_index, camera_index;
  for (const auto& [iid, im] : m.images) {
    VG_CHECK(im.xys.size() == 2 * im.point3D_ids.size(),
             "bundle_adjust: image ", iid, " has ", im.xys.size() / 2, " keypoints but "
                                    , im.point3D_ids.size(), " point3D ids");
    bool any = false;
    for (size_t k = 0; k < im.point3D_ids.size(); ++k) {
      int64_t pid = im.point3D_ids[k];
      if (pid < 0) continue;
      VG_CHECK(m.points.count(static_cast<uint64_t>(pid)),
               "bundle_adjust: image ", iid, " keypoint ", k, " refers to missing point3D ", pid);
      if (!any) {
        image_index[iid] = static_cast<int>(idx.image_ids.size());
        idx.image_ids.push_back(iid);
        any = true;
      }
      obs_of_point[static_cast<uint64_t>(pid)].push_back({image_index[iid], static_cast<int>(k)});
    }
  }
  p.num_images = static_cast<int>(idx.image_ids.size());
  for (uint32_t iid : idx.image_ids) {
    const ColmapImage& im = m.images.at(iid);
    auto cit = m.cameras.find(im.camera_id);
    VG_CHECK(cit != m.cameras.end(), "bundle_adjust: image ", iid, " refers to missing camera ", im.camera_id);
    if (!camera_index.count(im.camera_id)) {
      camera_index[im.camera_id] = ba::add_camera(p, cit->second, opt);
      idx.camera_ids.push_back(im.camera_id);
    }
    p.image_camera.push_back(camera_index[im.camera_id]);
    ba::add_pose(p, im.qvec.data(), im.tvec.data(), opt.constant_poses.count(iid) > 0, iid);
  }
  p.points_free = !opt.constant_points;
  ba::fix_gauge(p, opt);
  p.point_obs.push_back(0);
  for (const auto& [pid, list] : obs_of_point) {
    idx.point_ids.push_back(pid);
    const auto& xyz = m.points.at(pid).xyz;
    for (int i = 0; i < 3; ++i) p.points.push_back(xyz[i]);
    for (auto [ii, k] : list) {
      p.obs_image.push_back(ii);
      const ColmapImage& im = m.images.at(idx.image_ids[ii]);
      p.obs_xy.push_back(im.xys[2 * k]);
      p.obs_xy.push_back(im.xys[2 * k + 1]);
    }
    p.point_obs.push_back(static_cast<int>(p.obs_image.size()));
  }
  p.num_points = static_cast<int>(idx.point_ids.size());
  p.num_obs = static_cast<int>(p.obs_image.size());
  return p;
}

void write_back(const ba::Problem& p, const Index& idx, ColmapModel& m) {
  for (int i = 0; i < p.num_images; ++i) {
    ColmapImage& im = m.images.at(idx.image_ids[i]);
    for (int k = 0; k < 4; ++k) im.qvec[k] = p.poses[7 * i + k];
    for (int k = 0; k < 3; ++k) im.tvec[k] = p.poses[7 * i + 4 + k];
  }
  for (int c = 0; c < p.num_cameras; ++c) {
    ColmapCamera& cam = m.cameras.at(idx.camera_ids[c]);
    for (size_t k = 0; k < cam.params.size(); ++k) cam.params[k] = p.cam_params[kMaxCamParams * c + k];
  }
  for (int j = 0; j < p.num_points; ++j) {
    ColmapPoint3D& pt = m.points.at(idx.point_ids[j]);
    for (int k = 0; k < 3; ++k) pt.xyz[k] = p.points[3 * j + k];
    double err = 0;  // mean reprojection error in pixels, as COLMAP stores it
    for (int o = p.point_obs[j]; o < p.point_obs[j + 1]; ++o) {
      int i = p.obs_image[o], c = p.image_camera[i];
      double pc[3], px[2];
      ba::quat_rotate(&p.poses[7 * i], &p.points[3 * j], pc);
      for (int k = 0; k < 3; ++k) pc[k] += p.poses[7 * i + 4 + k];
      if (ba::project(p.cam_model[c], &p.cam_params[kMaxCamParams * c], pc, px))
        err += std::hypot(px[0] - p.obs_xy[2 * o], px[1] - p.obs_xy[2 * o + 1]);
    }
    int n = p.point_obs[j + 1] - p.point_obs[j];
    pt.error = n > 0 ? err / n : 0;
  }
}

}  // namespace

double reprojection_cost(const ColmapModel& model, const BundleOptions& opt) {
  Index idx;
  ba::Problem p = build_problem(model, opt, idx);
  double cost = 0;
  for (int j = 0; j < p.num_points; ++j)
    for (int o = p.point_obs[j]; o < p.point_obs[j + 1]; ++o) {
      int i = p.obs_image[o], c = p.image_camera[i];
      cost += ba::obs_cost(p.cam_model[c], &p.cam_params[kMaxCamParams * c], &p.poses[7 * i], &p.poses[7 * i + 4],
                           &p.points[3 * j], &p.obs_xy[2 * o], p.loss, p.loss_scale);
    }
  return cost;
}

namespace ba {
namespace {
double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
bool env_on(const char* name) {
  const char* e = std::getenv(name);
  return e && *e && *e != '0';
}

bool profile_enabled() {
  static const bool on = env_on("VGSPLAT_BA_PROFILE");
  return on;
}
}  // namespace

BundleSummary solve(Problem& p, const BundleOptions& opt, double build_seconds) {
  auto t0 = std::chrono::steady_clock::now();
  BundleSummary s;
  s.num_residuals = 2 * p.num_obs;
  if (p.num_obs == 0) {
    s.termination = "no observations";
    return s;
  }
  std::unique_ptr<Solver> solver = opt.device.is_cuda() ? make_cuda_solver(p, opt.device.index) : make_cpu_solver(p);
  const double t_made = since(t0);
  // Ceres' defaults: initial radius 1e4, max radius 1e16, min radius 1e-32, min relative decrease 1e-3.
  double radius = 1e4, decrease_factor = 2;
  double cost = solver->linearize();
  VG_CHECK(std::isfinite(cost), "bundle_adjust: the initial cost is not finite");
  s.setup_seconds = build_seconds + since(t0);
  const double t_setup = since(t0);
  double t_steps = 0, t_lin = 0;  // VGSPLAT_BA_PROFILE=1: where the seconds go (steps and linearisations sync)
  s.initial_cost = cost;
  s.termination = "max iterations";
  static const bool verbose_env = env_on("VGSPLAT_BA_VERBOSE");  // every iteration, as opt.verbose
  const bool verbose = opt.verbose || verbose_env;
  if (solver->gradient_max_norm() <= opt.gradient_tolerance) {
    s.converged = true;
    s.termination = "gradient tolerance";
  }
  for (int it = 0; !s.converged && it < opt.max_iterations; ++it) {
    s.iterations = it + 1;
    auto ts = std::chrono::steady_clock::now();
    StepResult st = solver->step(radius);
    t_steps += since(ts);
    if (st.valid && st.step_norm <= opt.parameter_tolerance * (st.x_norm + opt.parameter_tolerance)) {
      s.converged = true, s.termination = "parameter tolerance";
      break;
    }
    double cost_change = cost - st.candidate_cost;
    if (st.valid && std::isfinite(st.candidate_cost) && std::fabs(cost_change) <= opt.function_tolerance * cost) {
      s.converged = true, s.termination = "function tolerance";
      break;
    }
    double rho = st.valid && std::isfinite(st.candidate_cost) ? cost_change / st.model_cost_change : -1;
    if (verbose)
      std::printf("[ba] it %3d cost %.6e cand %.6e model %.3e rho %.3f radius %.2e |dx| %.2e\n", it, cost,
                  st.candidate_cost, st.model_cost_change, rho, radius, st.step_norm);
    if (rho > 1e-3) {
      solver->accept();
      radius = std::min(1e16, radius / std::max(1.0 / 3.0, 1.0 - std::pow(2.0 * rho - 1.0, 3)));
      decrease_factor = 2;
      ts = std::chrono::steady_clock::now();
      cost = solver->linearize();
      const bool small_gradient = solver->gradient_max_norm() <= opt.gradient_tolerance;
      t_lin += since(ts);
      if (small_gradient) {
        s.converged = true, s.termination = "gradient tolerance";
      }
    } else {
      radius /= decrease_factor;
      decrease_factor *= 2;
      if (radius < 1e-32) {
        s.converged = true, s.termination = "minimum trust region radius";
      }
    }
  }
  s.final_cost = cost;
  if (verbose) std::printf("[ba] %d its, cost %.6e -> %.6e: %s\n", s.iterations, s.initial_cost, cost, s.termination.c_str());
  auto td = std::chrono::steady_clock::now();
  solver->download(p);
  s.seconds = build_seconds + since(t0);
  if (profile_enabled())
    std::fprintf(stderr, "[ba profile] %d obs, %d its: build %.4f, solver %.4f, first linearize %.4f, steps %.4f "
                 "(%.5f each), linearize %.4f, download %.4f s\n", p.num_obs, s.iterations, build_seconds, t_made,
                 t_setup - t_made, t_steps, t_steps / std::max(1, s.iterations), t_lin, since(td));
  return s;
}

}  // namespace ba

BundleSummary bundle_adjust(ColmapModel& model, const BundleOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  Index idx;
  ba::Problem p = build_problem(model, opt, idx);
  const double build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BundleSummary s = ba::solve(p, opt, build_seconds);
  if (p.num_obs == 0) return s;
  auto t1 = std::chrono::steady_clock::now();
  write_back(p, idx, model);
  s.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  return s;
}

}  // namespace vg
