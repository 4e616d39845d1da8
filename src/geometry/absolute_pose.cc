// Camera registration (COLMAP EstimateAbsolutePose + RefineAbsolutePose): P3P in LO-MSAC on normalised image
// coordinates, an optional focal sweep (30 log-spaced focal candidates in [0.1 f, 10 f], the one with most
// inliers kept, as COLMAP's pre-P4Pf focal sampling), then Levenberg-Marquardt on the pixel reprojection errors
// of the inliers with a Cauchy loss (scale 1 px), optionally refining the focal length.
#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "core/error.h"
#include "core/parallel.h"
#include "geometry/absolute_pose.h"
#include "geometry/camera_models.h"
#include "geometry/ransac.h"

namespace vg {
namespace {

struct Pose {
  Eigen::Matrix3d R = Eigen::Matrix3d::Identity();
  Eigen::Vector3d t = Eigen::Vector3d::Zero();
};

struct Problem {
  int model_id;
  std::vector<double> params;  // camera parameters (focal updated when refined)
  std::vector<int> focal_idxs;
  const std::vector<Eigen::Vector2d>* x;  // pixels
  const std::vector<Eigen::Vector3d>* X;
  std::vector<int> idx;  // points in the problem
  double loss_scale = 1.0;  // Cauchy scale (px); <= 0: plain least squares

  // Residuals for pose perturbed by delta = [rotation vector, translation, log focal scale].
  void residuals(const Pose& p, const Eigen::VectorXd& delta, Eigen::VectorXd* r) const {
    const Eigen::Matrix3d R = Eigen::AngleAxisd(delta.head<3>().norm(), delta.head<3>().normalized()).toRotationMatrix();
    const Eigen::Matrix3d Rn = (delta.head<3>().norm() > 0 ? R : Eigen::Matrix3d::Identity()) * p.R;
    const Eigen::Vector3d tn = p.t + delta.segment<3>(3);
    std::vector<double> prm = params;
    if (delta.size() > 6)
      for (int i : focal_idxs) prm[i] *= std::exp(delta(6));
    r->resize(2 * idx.size());
    for (size_t k = 0; k < idx.size(); ++k) {
      const Eigen::Vector3d pc = Rn * (*X)[idx[k]] + tn;
      if (pc(2) <= 1e-12) {
        r->segment<2>(2 * k).setConstant(1e3);
        continue;
      }
      r->segment<2>(2 * k) = camera_project(model_id, prm.data(), pc) - (*x)[idx[k]];
    }
  }
  double cost(const Eigen::VectorXd& r) const {
    double c = 0;
    for (int k = 0; k < r.size() / 2; ++k) {
      const double s2 = r.segment<2>(2 * k).squaredNorm();
      c += loss_scale > 0 ? loss_scale * loss_scale * std::log1p(s2 / (loss_scale * loss_scale)) : s2;
    }
    return c;
  }
};

// Levenberg-Marquardt with a central-difference Jacobian and IRLS weights for the Cauchy loss.
void refine(Problem& pb, Pose* pose, bool with_focal, int max_iters = 50) {
  if (pb.idx.size() < 3) return;
  const int np = with_focal ? 7 : 6;
  Eigen::VectorXd zero = Eigen::VectorXd::Zero(np), r, rp, rm;
  pb.residuals(*pose, zero, &r);
  double cost = pb.cost(r), mu = 1e-3;
  for (int it = 0; it < max_iters; ++it) {
    Eigen::MatrixXd J(r.size(), np);
    for (int j = 0; j < np; ++j) {
      Eigen::VectorXd d = zero;
      const double h = j < 3 ? 1e-7 : (j < 6 ? 1e-7 * (1 + pose->t.norm()) : 1e-7);
      d(j) = h;
      pb.residuals(*pose, d, &rp);
      d(j) = -h;
      pb.residuals(*pose, d, &rm);
      J.col(j) = (rp - rm) / (2 * h);
    }
    Eigen::VectorXd w(r.size());
    for (int k = 0; k < r.size() / 2; ++k) {
      const double s2 = r.segment<2>(2 * k).squaredNorm(), c2 = pb.loss_scale * pb.loss_scale;
      w.segment<2>(2 * k).setConstant(pb.loss_scale > 0 ? 1 / (1 + s2 / c2) : 1.0);
    }
    const Eigen::MatrixXd JtW = J.transpose() * w.asDiagonal();
    const Eigen::MatrixXd JtJ = JtW * J;
    const Eigen::VectorXd g = JtW * r;
    bool accepted = false;
    for (int tries = 0; tries < 10 && !accepted; ++tries) {
      Eigen::MatrixXd A = JtJ;
      A.diagonal() += mu * JtJ.diagonal().cwiseMax(1e-12);
      const Eigen::VectorXd step = -A.ldlt().solve(g);
      if (!step.allFinite()) break;
      pb.residuals(*pose, step, &rp);
      const double c = pb.cost(rp);
      if (c < cost) {
        // Apply the step to the pose (and focal).
        const double ang = step.head<3>().norm();
        if (ang > 0) pose->R = Eigen::AngleAxisd(ang, step.head<3>() / ang).toRotationMatrix() * pose->R;
        pose->t += step.segment<3>(3);
        if (with_focal)
          for (int i : pb.focal_idxs) pb.params[i] *= std::exp(step(6));
        const double rel = (cost - c) / std::max(cost, 1e-300);
        cost = c;
        r = rp;
        mu = std::max(mu / 3, 1e-12);
        accepted = true;
        if (rel < 1e-12 || step.norm() < 1e-14) return;
      } else {
        mu *= 4;
      }
    }
    if (!accepted) return;
  }
}

struct RansacResult {
  ransac::Report<Pose> report;
  std::vector<double> params;
};

RansacResult ransac_pose(const ColmapCamera& cam, const std::vector<double>& params,
                         const std::vector<Eigen::Vector2d>& points2d, const std::vector<Eigen::Vector3d>& points3d,
                         const AbsolutePoseOptions& opt, bool local_optimization = true) {
  ColmapCamera c = cam;
  c.params = params;
  const int n = static_cast<int>(points2d.size());
  std::vector<Eigen::Vector2d> xn(n);
  std::vector<Eigen::Vector3d> bearings(n);
  for (int i = 0; i < n; ++i) {
    xn[i] = camera_unproject(c, points2d[i]);
    bearings[i] = xn[i].homogeneous().normalized();
  }
  RansacOptions ro = opt.ransac;
  ro.max_error = camera_image_to_world_threshold(c, opt.ransac.max_error);
  auto minimal = [&](const std::vector<int>& s) {
    const Eigen::Vector3d b[3] = {bearings[s[0]], bearings[s[1]], bearings[s[2]]};
    const Eigen::Vector3d X[3] = {points3d[s[0]], points3d[s[1]], points3d[s[2]]};
    std::vector<Pose> out;
    for (const auto& [R, t] : p3p(b, X)) out.push_back({R, t});
    return out;
  };
  auto residual = [&](const Pose& p, int i) {
    const Eigen::Vector3d pc = p.R * points3d[i] + p.t;
    return pc(2) > std::numeric_limits<double>::epsilon() ? (pc.hnormalized() - xn[i]).squaredNorm()
                                                         : std::numeric_limits<double>::max();
  };
  const int model_id = colmap_model_id(c.model);
  // Local optimisation: least-squares refit of the current pose on its inliers (pixel errors).
  auto local = [&](const std::vector<int>& inl, const Pose& current) {
    if (!local_optimization || inl.size() < 6) return std::vector<Pose>{};
    Pose p = current;
    Problem pb{model_id, params, camera_focal_idxs(model_id), &points2d, &points3d, inl, 0.0};
    refine(pb, &p, false, 10);
    return std::vector<Pose>{p};
  };
  return {ransac::lo_msac<Pose>(n, 3, ro, minimal, residual, local), params};
}

}  // namespace

AbsolutePoseResult estimate_absolute_pose(const ColmapCamera& cam, const std::vector<Eigen::Vector2d>& points2d,
                                          const std::vector<Eigen::Vector3d>& points3d,
                                          const AbsolutePoseOptions& opt) {
  VG_CHECK(points2d.size() == points3d.size(), "estimate_absolute_pose: ", points2d.size(), " 2D vs ",
           points3d.size(), " 3D points");
  const int model_id = colmap_model_id(cam.model);
  VG_CHECK(camera_model_supported(model_id), "estimate_absolute_pose: unsupported camera model '", cam.model, "'");
  VG_CHECK(static_cast<int>(cam.params.size()) == colmap_num_params(model_id), "estimate_absolute_pose: camera ",
           cam.id, " has ", cam.params.size(), " parameters");
  AbsolutePoseResult result;
  const std::vector<int> fidx = camera_focal_idxs(model_id);
  result.focal = cam.params[fidx[0]];
  if (points2d.size() < 4 || static_cast<int>(points2d.size()) < opt.min_num_inliers) return result;

  RansacResult best = ransac_pose(cam, cam.params, points2d, points3d, opt);
  if (opt.estimate_focal) {
    // Coarse sweep with a small trial budget per candidate, then a full RANSAC at the winning focal.
    constexpr int kNumSamples = 30;
    AbsolutePoseOptions sweep = opt;
    sweep.ransac.max_num_trials = std::min(opt.ransac.max_num_trials, 200);
    sweep.ransac.min_num_trials = std::min(opt.ransac.min_num_trials, 200);
    std::vector<double> best_params = cam.params;
    int best_inliers = best.report.success ? best.report.support.num_inliers : 0;
    // The candidates are independent (COLMAP runs them on a thread pool too); the reduction below is in
    // candidate order, so the result does not depend on the thread count.
    std::vector<int> inliers(kNumSamples, 0);
    auto params_of = [&](int s) {
      std::vector<double> params = cam.params;
      for (int i : fidx) params[i] *= std::pow(10.0, -1.0 + 2.0 * s / (kNumSamples - 1));
      return params;
    };
    parallel_for(kNumSamples, [&](int64_t b, int64_t e) {
      for (int64_t s = b; s < e; ++s) {
        // Plain MSAC here: the candidates are only ranked by inliers; the winner gets the full LO-RANSAC.
        const RansacResult r = ransac_pose(cam, params_of(static_cast<int>(s)), points2d, points3d, sweep, false);
        inliers[s] = r.report.success ? r.report.support.num_inliers : 0;
      }
    }, 1);
    for (int s = 0; s < kNumSamples; ++s)
      if (inliers[s] > best_inliers) best_inliers = inliers[s], best_params = params_of(s);
    if (best_params != cam.params) {
      RansacResult r = ransac_pose(cam, best_params, points2d, points3d, opt);
      if (r.report.success &&
          (!best.report.success || r.report.support.num_inliers > best.report.support.num_inliers))
        best = std::move(r);
    }
  }
  if (!best.report.success) return result;

  Pose pose = best.report.model;
  Problem pb{model_id, best.params, fidx, &points2d, &points3d, {}, 1.0};
  for (size_t i = 0; i < points2d.size(); ++i)
    if (best.report.inlier_mask[i]) pb.idx.push_back(static_cast<int>(i));
  refine(pb, &pose, opt.estimate_focal || opt.refine_focal);

  // Inliers of the refined pose by pixel reprojection error.
  const double max_sq = opt.ransac.max_error * opt.ransac.max_error;
  result.inlier_mask.assign(points2d.size(), 0);
  for (size_t i = 0; i < points2d.size(); ++i) {
    const Eigen::Vector3d pc = pose.R * points3d[i] + pose.t;
    if (pc(2) <= std::numeric_limits<double>::epsilon()) continue;
    const double e2 = (camera_project(model_id, pb.params.data(), pc) - points2d[i]).squaredNorm();
    if (e2 <= max_sq) {
      result.inlier_mask[i] = 1;
      ++result.num_inliers;
    }
  }
  result.cam_from_world_q = Eigen::Quaterniond(pose.R).normalized();
  result.cam_from_world_t = pose.t;
  result.focal = pb.params[fidx[0]];
  result.success = result.num_inliers >= opt.min_num_inliers;
  return result;
}

}  // namespace vg
