// Ceres Solver as the oracle for bundle_adjust (tests/bundle_adjustment_test, tools/ba_bench): the same
// residuals (ba::project), robust loss, fixed blocks and gauge as src/sfm/bundle_adjustment.cc, solved by
// Ceres' Levenberg-Marquardt with the linear solver COLMAP would choose. Header-only; Ceres is a test-only
// dependency, so everything is compiled only with VGSPLAT_HAS_CERES.
#pragma once
#ifdef VGSPLAT_HAS_CERES
#include <ceres/ceres.h>
#include <ceres/rotation.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/colmap.h"
#include "sfm/bundle_adjustment.h"
#include "sfm/bundle_adjustment_math.h"

namespace vg {

struct CeresBaSummary {
  double initial_cost = 0, final_cost = 0;  // 0.5 * sum rho(|r|^2), as BundleSummary
  int iterations = 0;                       // LM steps, successful or not
  int num_residuals = 0;
  double seconds = 0;        // problem construction + solve + write-back (wall clock)
  double setup_seconds = 0;  // problem construction + Ceres' preprocessing
  std::string linear_solver, termination, report;  // report: Ceres' BriefReport()
};

namespace ceres_ba {

struct ReprojFunctor {
  int model;
  double x, y;
  template <typename T>
  bool operator()(const T* q, const T* t, const T* prm, const T* X, T* r) const {
    T pc[3], px[2];
    ceres::QuaternionRotatePoint(q, X, pc);
    for (int k = 0; k < 3; ++k) pc[k] += t[k];
    if (!ba::project(model, prm, pc, px)) {  // COLMAP: zero residual when not projectable
      r[0] = r[1] = T(0);
      return true;
    }
    r[0] = px[0] - T(x), r[1] = px[1] - T(y);
    return true;
  }
};

// Parameter blocks of the images that have observations, their cameras and the observed points.
struct Blocks {
  std::map<uint32_t, std::array<double, 4>> q;
  std::map<uint32_t, std::array<double, 3>> t;
  std::map<uint32_t, std::array<double, 8>> cam;
  std::map<uint64_t, std::array<double, 3>> X;
  std::vector<uint32_t> image_ids;  // in id order, as bundle_adjust numbers them (the gauge uses the first two)
};

inline bool has_observation(const ColmapImage& im) {
  for (int64_t pid : im.point3D_ids)
    if (pid >= 0) return true;
  return false;
}

inline void add_camera(const ColmapModel& m, uint32_t cid, Blocks& b) {
  auto it = m.cameras.find(cid);
  VG_CHECK(it != m.cameras.end(), "ceres_bundle_adjust: missing camera ", cid);
  const int model = colmap_model_id(it->second.model);
  VG_CHECK(model >= 0 && model <= 4 && static_cast<int>(it->second.params.size()) == ba::num_cam_params(model),
           "ceres_bundle_adjust: camera ", cid, " (", it->second.model, ") is not supported");
  std::array<double, 8>& c = b.cam[cid];
  c.fill(0);
  std::copy(it->second.params.begin(), it->second.params.end(), c.begin());
}

inline Blocks collect_blocks(const ColmapModel& m) {
  Blocks b;
  for (const auto& [iid, im] : m.images) {
    VG_CHECK(im.xys.size() == 2 * im.point3D_ids.size(), "ceres_bundle_adjust: image ", iid, " xys/ids mismatch");
    if (!has_observation(im)) continue;
    b.image_ids.push_back(iid);
    const auto& qv = im.qvec;
    const double n = std::sqrt(qv[0] * qv[0] + qv[1] * qv[1] + qv[2] * qv[2] + qv[3] * qv[3]);
    VG_CHECK(n > 0 && std::isfinite(n), "ceres_bundle_adjust: image ", iid, " has an invalid quaternion");
    b.q[iid] = {qv[0] / n, qv[1] / n, qv[2] / n, qv[3] / n};  // bundle_adjust normalises too
    b.t[iid] = im.tvec;
    if (!b.cam.count(im.camera_id)) add_camera(m, im.camera_id, b);
    for (int64_t pid : im.point3D_ids) {
      if (pid < 0) continue;
      auto pit = m.points.find(static_cast<uint64_t>(pid));
      VG_CHECK(pit != m.points.end(), "ceres_bundle_adjust: image ", iid, " refers to missing point3D ", pid);
      b.X[pit->first] = pit->second.xyz;
    }
  }
  return b;
}

inline ceres::LossFunction* make_loss(const BundleOptions& opt) {
  switch (opt.loss) {
    case BundleOptions::Loss::Huber: return new ceres::HuberLoss(opt.loss_scale);
    case BundleOptions::Loss::Cauchy: return new ceres::CauchyLoss(opt.loss_scale);
    case BundleOptions::Loss::SoftL1: return new ceres::SoftLOneLoss(opt.loss_scale);
    default: return nullptr;
  }
}

inline void add_residuals(const ColmapModel& m, const BundleOptions& opt, Blocks& b, ceres::Problem& problem) {
  ceres::LossFunction* loss = make_loss(opt);  // shared by every residual (the problem reference-counts it)
  for (uint32_t iid : b.image_ids) {
    const ColmapImage& im = m.images.at(iid);
    const int model = colmap_model_id(m.cameras.at(im.camera_id).model);
    for (size_t k = 0; k < im.point3D_ids.size(); ++k) {
      if (im.point3D_ids[k] < 0) continue;
      auto* cf = new ceres::AutoDiffCostFunction<ReprojFunctor, 2, 4, 3, 8, 3>(
          new ReprojFunctor{model, im.xys[2 * k], im.xys[2 * k + 1]});
      problem.AddResidualBlock(cf, loss, b.q[iid].data(), b.t[iid].data(), b.cam[im.camera_id].data(),
                               b.X[static_cast<uint64_t>(im.point3D_ids[k])].data());
    }
  }
}

// Focal / principal point / extra parameters held as the options say (and the padding up to 8).
inline void set_camera_blocks(const ColmapModel& m, const BundleOptions& opt, Blocks& b, ceres::Problem& problem) {
  for (auto& [cid, c] : b.cam) {
    const int model = colmap_model_id(m.cameras.at(cid).model), np = ba::num_cam_params(model);
    const int nf = (model == 0 || model == 2 || model == 3) ? 1 : 2;
    std::vector<int> fixed;
    for (int k = 0; k < 8; ++k) {
      const bool free = k < nf ? opt.refine_focal : k < nf + 2 ? opt.refine_principal_point
                                                          : k < np && opt.refine_extra_params;
      if (!free) fixed.push_back(k);
    }
    if (opt.constant_cameras.count(cid) || fixed.size() == 8)
      problem.SetParameterBlockConstant(c.data());
    else
      problem.SetManifold(c.data(), new ceres::SubsetManifold(8, fixed));
  }
}

// bundle_adjust's gauge: given constant poses, or (automatic, only when points are refined) the first image's
// pose and the second's translation coordinate along which the baseline R2 R1^T t1 -> t2 is largest.
inline void set_pose_blocks(const BundleOptions& opt, Blocks& b, ceres::Problem& problem) {
  for (uint32_t iid : b.image_ids) {
    problem.SetManifold(b.q[iid].data(), new ceres::QuaternionManifold);
    if (opt.constant_poses.count(iid)) {
      problem.SetParameterBlockConstant(b.q[iid].data());
      problem.SetParameterBlockConstant(b.t[iid].data());
    }
  }
  if (!opt.constant_poses.empty() || !opt.fix_gauge_automatically || opt.constant_points || b.image_ids.empty())
    return;
  const uint32_t i1 = b.image_ids[0];
  problem.SetParameterBlockConstant(b.q[i1].data());
  problem.SetParameterBlockConstant(b.t[i1].data());
  if (b.image_ids.size() < 2) return;
  const uint32_t i2 = b.image_ids[1];
  const std::array<double, 4> &q1 = b.q[i1], &q2 = b.q[i2];
  const std::array<double, 3> &t1 = b.t[i1], &t2 = b.t[i2];
  const double q1c[4] = {q1[0], -q1[1], -q1[2], -q1[3]};
  double c1[3], base[3];
  ba::quat_rotate(q1c, t1.data(), c1);
  ba::quat_rotate(q2.data(), c1, base);
  int best = 0;
  for (int i = 0; i < 3; ++i) {
    base[i] = t2[i] - base[i];
    if (std::fabs(base[i]) > std::fabs(base[best])) best = i;
  }
  problem.SetManifold(b.t[i2].data(), new ceres::SubsetManifold(3, {best}));
}

// COLMAP 3.8 BundleAdjuster::Solve (src/optim/bundle_adjustment.cc): <= 50 images DENSE_SCHUR, <= 1000 SPARSE_SCHUR
// when a sparse library is available, else ITERATIVE_SCHUR with SCHUR_JACOBI.
inline void choose_linear_solver(size_t num_images, ceres::Solver::Options& so) {
  const bool has_sparse = so.sparse_linear_algebra_library_type != ceres::NO_SPARSE;
  if (num_images <= 50) {
    so.linear_solver_type = ceres::DENSE_SCHUR;
  } else if (num_images <= 1000 && has_sparse) {
    so.linear_solver_type = ceres::SPARSE_SCHUR;
  } else {
    so.linear_solver_type = ceres::ITERATIVE_SCHUR;
    so.preconditioner_type = ceres::SCHUR_JACOBI;
  }
}

inline void write_back(const Blocks& b, ColmapModel& m) {
  for (uint32_t iid : b.image_ids) {
    m.images.at(iid).qvec = b.q.at(iid);
    m.images.at(iid).tvec = b.t.at(iid);
  }
  for (const auto& [cid, c] : b.cam) {
    std::vector<double>& p = m.cameras.at(cid).params;
    std::copy(c.begin(), c.begin() + p.size(), p.begin());
  }
  for (const auto& [pid, x] : b.X) m.points.at(pid).xyz = x;
}

}  // namespace ceres_ba

// Solves the problem bundle_adjust(m, opt) solves (opt.device and opt.verbose are ignored) with Ceres and
// writes the result into `m` as bundle_adjust does (poses, camera parameters, point positions).
inline CeresBaSummary ceres_bundle_adjust(ColmapModel& m, const BundleOptions& opt, int num_threads = 2) {
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  VG_CHECK(opt.loss == BundleOptions::Loss::Trivial || opt.loss_scale > 0,
           "ceres_bundle_adjust: loss_scale must be > 0, got ", opt.loss_scale);
  ceres_ba::Blocks b = ceres_ba::collect_blocks(m);
  CeresBaSummary s;
  if (b.image_ids.empty()) {
    s.termination = "no observations";
    return s;
  }
  ceres::Problem problem;
  ceres_ba::add_residuals(m, opt, b, problem);
  ceres_ba::set_camera_blocks(m, opt, b, problem);
  ceres_ba::set_pose_blocks(opt, b, problem);
  if (opt.constant_points)
    for (auto& [pid, x] : b.X) problem.SetParameterBlockConstant(x.data());
  ceres::Solver::Options so;
  ceres_ba::choose_linear_solver(b.image_ids.size(), so);
  so.max_num_iterations = opt.max_iterations;
  so.function_tolerance = opt.function_tolerance;
  so.gradient_tolerance = opt.gradient_tolerance;
  so.parameter_tolerance = opt.parameter_tolerance;
  so.num_threads = num_threads;
  const double build_seconds = since();
  ceres::Solver::Summary summary;
  ceres::Solve(so, &problem, &summary);
  ceres_ba::write_back(b, m);
  s.initial_cost = summary.initial_cost;
  s.final_cost = summary.final_cost;
  s.iterations = summary.num_successful_steps + summary.num_unsuccessful_steps;
  s.num_residuals = summary.num_residuals;
  s.setup_seconds = build_seconds + summary.preprocessor_time_in_seconds;
  s.linear_solver = ceres::LinearSolverTypeToString(summary.linear_solver_type_used);
  s.termination = summary.message;
  s.report = summary.BriefReport();
  s.seconds = since();
  return s;
}

}  // namespace vg
#endif  // VGSPLAT_HAS_CERES
