// Bundle adjustment: analytic Jacobians vs finite differences, convergence from perturbed cameras/points
// to the truth, robust losses against outliers, and the final cost against Ceres Solver (when installed).
#include <gtest/gtest.h>

#include <Eigen/Geometry>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>

#include "core/error.h"
#include "sfm/bundle_adjustment.h"
#include "sfm/bundle_adjustment_math.h"
#include "sfm/bundle_adjustment_synthetic.h"
#include "test_util.h"

#include "ceres_ba.h"  // the Ceres oracle (only with VGSPLAT_HAS_CERES)

namespace vg {
namespace {

using ba::kMaxCamParams;

// ---- Jacobians ------------------------------------------------------------------------------------

struct Lin {
  double r[2], Jpose[12], Jcam[2 * kMaxCamParams], Jpt[6], cost;
};

Lin lin(int model, const double* prm, const double* q, const double* t, const double* X, const double* obs) {
  const unsigned char all[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  Lin L;
  L.cost = ba::linearize_obs(model, prm, q, t, X, obs, 0, 1.0, all, all, L.r, L.Jpose, L.Jcam, L.Jpt);
  return L;
}

TEST(BundleAdjustment, AnalyticJacobiansMatchFiniteDifferences) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int model = 0; model <= 4; ++model) {
    double prm[8] = {0};
    const double base[5][8] = {{510, 320, 240},
                               {510, 490, 320, 240},
                               {510, 320, 240, 0.08},
                               {510, 320, 240, 0.08, -0.03},
                               {510, 490, 320, 240, 0.08, -0.03, 0.004, -0.003}};
    for (int k = 0; k < 8; ++k) prm[k] = base[model][k];
    double q[4] = {0.9, 0.1 * u(rng), 0.2 * u(rng), 0.1 * u(rng)};
    double n = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    for (double& v : q) v /= n;
    double t[3] = {0.1 * u(rng), 0.1 * u(rng), 4.0}, X[3] = {0.5 * u(rng), 0.5 * u(rng), 0.5 * u(rng)};
    double obs[2] = {300, 250};
    Lin L = lin(model, prm, q, t, X, obs);
    const double h = 1e-6;
    double max_rel = 0;
    auto check = [&](const double* Jcol0, int stride, int col, auto&& perturbed) {
      Lin p = perturbed(+h), m = perturbed(-h);
      for (int k = 0; k < 2; ++k) {
        double fd = (p.r[k] - m.r[k]) / (2 * h), an = Jcol0[k * stride + col];
        double rel = std::fabs(fd - an) / std::max(1.0, std::fabs(fd));
        max_rel = std::max(max_rel, rel);
        EXPECT_NEAR(an, fd, 1e-5 * std::max(1.0, std::fabs(fd))) << "model " << model << " col " << col;
      }
    };
    for (int c = 0; c < 3; ++c) {
      check(L.Jpose, 6, c, [&](double e) {
        double w[3] = {0, 0, 0}, qq[4] = {q[0], q[1], q[2], q[3]};
        w[c] = e;
        ba::quat_left_update(w, qq);
        return lin(model, prm, qq, t, X, obs);
      });
      check(L.Jpose, 6, 3 + c, [&](double e) {
        double tt[3] = {t[0], t[1], t[2]};
        tt[c] += e;
        return lin(model, prm, q, tt, X, obs);
      });
      check(L.Jpt, 3, c, [&](double e) {
        double XX[3] = {X[0], X[1], X[2]};
        XX[c] += e;
        return lin(model, prm, q, t, XX, obs);
      });
    }
    for (int c = 0; c < ba::num_cam_params(model); ++c)
      check(L.Jcam, kMaxCamParams, c, [&](double e) {
        double pp[8];
        std::copy(prm, prm + 8, pp);
        pp[c] += e * std::max(1.0, std::fabs(prm[c]));
        Lin r = lin(model, pp, q, t, X, obs);
        for (double& v : r.r) v /= std::max(1.0, std::fabs(prm[c]));
        return r;
      });
    std::printf("[ba] model %d: max relative Jacobian error vs central differences %.2e\n", model, max_rel);
  }
}

// ---- Convergence ---------------------------------------------------------------------------------

struct PoseErrors {
  double max_rot_deg = 0, max_centre = 0;
};

Eigen::Matrix3d rot(const ColmapImage& im) {
  return Eigen::Quaterniond(im.qvec[0], im.qvec[1], im.qvec[2], im.qvec[3]).toRotationMatrix();
}
Eigen::Vector3d centre(const ColmapImage& im) {
  return -rot(im).transpose() * Eigen::Vector3d(im.tvec[0], im.tvec[1], im.tvec[2]);
}

// Errors after a similarity alignment (Umeyama) of the estimated camera centres onto the truth.
PoseErrors pose_errors(const ColmapModel& est, const ColmapModel& truth) {
  const int n = static_cast<int>(truth.images.size());
  Eigen::Matrix3Xd a(3, n), b(3, n);
  int k = 0;
  for (auto& [iid, im] : truth.images) a.col(k) = centre(est.images.at(iid)), b.col(k++) = centre(im);
  Eigen::Matrix4d T = Eigen::umeyama(a, b, true);
  const double s = T.block<3, 1>(0, 0).norm();
  const Eigen::Matrix3d Ra = T.block<3, 3>(0, 0) / s;
  PoseErrors e;
  k = 0;
  for (auto& [iid, im] : truth.images) {
    Eigen::Vector3d c = T.block<3, 3>(0, 0) * a.col(k) + T.block<3, 1>(0, 3);
    e.max_centre = std::max(e.max_centre, (c - b.col(k++)).norm());
    Eigen::Matrix3d dR = rot(est.images.at(iid)) * Ra.transpose() * rot(im).transpose();
    double ang = std::acos(std::clamp((dR.trace() - 1) / 2, -1.0, 1.0)) * 180 / M_PI;
    e.max_rot_deg = std::max(e.max_rot_deg, ang);
  }
  return e;
}

TEST(BundleAdjustment, ConvergesToTruthFromPerturbedStart) {
  for (const char* model : {"PINHOLE", "SIMPLE_RADIAL", "OPENCV"}) {
    BaSceneOptions so;
    so.camera_model = model;
    so.shared_camera = std::string(model) != "PINHOLE";
    ColmapModel truth = make_ba_scene(so);
    ColmapModel m = perturb_ba_scene(truth, 2.0, 0.1, 0.05, 0.03, 7);
    BundleOptions opt;
    PoseErrors e0 = pose_errors(m, truth);
    BundleSummary s = bundle_adjust(m, opt);
    PoseErrors e = pose_errors(m, truth);
    const double noise_cost = 0.5 * so.noise_px * so.noise_px * s.num_residuals;  // E[cost] at the truth
    std::printf("[ba] %-13s cost %.1f -> %.2f (noise level %.1f), %d its, %s, %.3f s; rot err %.3f -> %.4f deg, "
                "centre err %.3f -> %.4f\n",
                model, s.initial_cost, s.final_cost, noise_cost, s.iterations, s.termination.c_str(), s.seconds,
                e0.max_rot_deg, e.max_rot_deg, e0.max_centre, e.max_centre);
    EXPECT_TRUE(s.converged) << s.termination;
    EXPECT_LT(s.final_cost, 1.05 * noise_cost);
    EXPECT_GT(s.final_cost, 0.7 * noise_cost);
    EXPECT_LT(e.max_rot_deg, 0.2);  // the estimate's own error (noise), vs 2-3 deg at the start
    EXPECT_LT(e.max_centre, 0.05);  // ring radius 4
    // The same minimum as from the truth itself.
    ColmapModel from_truth = truth;
    BundleSummary st = bundle_adjust(from_truth, opt);
    PoseErrors d = pose_errors(m, from_truth);
    std::printf("[ba] %-13s vs the optimum from the truth: cost %.4f vs %.4f, rot %.1e deg, centre %.1e\n", model,
                s.final_cost, st.final_cost, d.max_rot_deg, d.max_centre);
    EXPECT_NEAR(s.final_cost, st.final_cost, 1e-4 * st.final_cost);
    EXPECT_LT(d.max_rot_deg, 1e-3);
    EXPECT_LT(d.max_centre, 1e-4);
    EXPECT_NEAR(reprojection_cost(m, opt), s.final_cost, 1e-9 * s.final_cost);
    for (auto& [cid, cam] : m.cameras)
      EXPECT_NEAR(cam.params[0] / truth.cameras.at(cid).params[0], 1.0, 0.01) << model;
  }
}

TEST(BundleAdjustment, GaugeAndConstantBlocksStayFixed) {
  ColmapModel truth = make_ba_scene({});
  ColmapModel m = perturb_ba_scene(truth, 1.0, 0.05, 0.02, 0.02, 9);
  ColmapModel before = m;
  BundleOptions opt;
  opt.constant_cameras = {3};
  bundle_adjust(m, opt);
  EXPECT_EQ(m.images.at(1).qvec, before.images.at(1).qvec);
  EXPECT_EQ(m.images.at(1).tvec, before.images.at(1).tvec);
  EXPECT_EQ(m.cameras.at(3).params, before.cameras.at(3).params);
  int fixed_coords = 0;
  for (int k = 0; k < 3; ++k) fixed_coords += m.images.at(2).tvec[k] == before.images.at(2).tvec[k];
  EXPECT_EQ(fixed_coords, 1);
  // Pose-only refinement: points stay, no automatic gauge.
  ColmapModel m2 = perturb_ba_scene(truth, 1.0, 0.05, 0.0, 0.0, 10);
  BundleOptions po;
  po.constant_points = true;
  po.refine_focal = false;
  bundle_adjust(m2, po);
  for (auto& [pid, pt] : m2.points) EXPECT_EQ(pt.xyz, truth.points.at(pid).xyz);
  EXPECT_LT(pose_errors(m2, truth).max_rot_deg, 0.2);
}

TEST(BundleAdjustment, RobustLossesDownWeightOutliers) {
  BaSceneOptions so;
  so.outlier_fraction = 0.08;
  so.seed = 5;
  ColmapModel truth = make_ba_scene(so);
  double err[4];  // trivial, Huber, Cauchy, soft L1
  for (int l = 0; l < 4; ++l) {
    ColmapModel m = perturb_ba_scene(truth, 1.0, 0.05, 0.02, 0.02, 11);
    BundleOptions opt;
    opt.loss = static_cast<BundleOptions::Loss>(l);
    opt.loss_scale = 2.0;
    BundleSummary s = bundle_adjust(m, opt);
    PoseErrors e = pose_errors(m, truth);
    err[l] = e.max_rot_deg;
    std::printf("[ba] loss %d: cost %.1f -> %.2f, %d its; rot err %.4f deg, centre err %.4f\n", l, s.initial_cost,
                s.final_cost, s.iterations, e.max_rot_deg, e.max_centre);
  }
  EXPECT_LT(err[1], 0.5 * err[0]);
  EXPECT_LT(err[2], 0.5 * err[0]);
  EXPECT_LT(err[3], 0.5 * err[0]);
  for (int l = 1; l < 4; ++l) EXPECT_LT(err[l], 0.2) << "loss " << l;
}

TEST(BundleAdjustment, BadInputThrows) {
  ColmapModel m = make_ba_scene({});
  ColmapModel bad = m;
  bad.points.erase(bad.points.begin());
  EXPECT_THROW(bundle_adjust(bad, {}), Error);
  bad = m;
  bad.cameras.at(1).model = "FOV";
  EXPECT_THROW(bundle_adjust(bad, {}), Error);
  bad = m;
  bad.cameras.at(1).params.pop_back();
  EXPECT_THROW(bundle_adjust(bad, {}), Error);
  ColmapModel empty;
  EXPECT_EQ(bundle_adjust(empty, {}).termination, "no observations");
}

TEST(BundleAdjustment, LargerProblemTiming) {
  BaSceneOptions so;
  so.num_images = 40;
  so.num_points = 3000;
  so.visibility = 0.2;
  ColmapModel truth = make_ba_scene(so);
  ColmapModel m = perturb_ba_scene(truth, 1.0, 0.05, 0.02, 0.02, 3);
  BundleSummary s = bundle_adjust(m, {});
  std::printf("[ba] 40 images, 3000 points (20%% visibility), %d residuals: %d its, %.3f s (cpu), cost %.1f -> %.1f, %s\n",
              s.num_residuals, s.iterations, s.seconds, s.initial_cost, s.final_cost, s.termination.c_str());
  EXPECT_TRUE(s.converged);
  EXPECT_LT(pose_errors(m, truth).max_rot_deg, 0.2);
}

TEST(BundleAdjustment, CudaMatchesCpu) {
  if (!test::have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  struct Case {
    int images, points;
    double visibility;
    const char* model;
    bool pcg = false;
  };
  // Every case runs the dense reduced-system solve; the first two also run PCG (VGSPLAT_BA_PCG=1).
  for (Case c : {Case{10, 200, 1.0, "PINHOLE"}, Case{30, 2000, 0.3, "OPENCV"}, Case{100, 10000, 0.1, "PINHOLE"},
                 Case{10, 200, 1.0, "PINHOLE", true}, Case{30, 2000, 0.3, "OPENCV", true}}) {
    if (c.pcg) setenv("VGSPLAT_BA_PCG", "1", 1);
    BaSceneOptions so;
    so.num_images = c.images, so.num_points = c.points, so.visibility = c.visibility, so.camera_model = c.model;
    so.shared_camera = std::string(c.model) != "PINHOLE";
    ColmapModel truth = make_ba_scene(so);
    ColmapModel a = perturb_ba_scene(truth, 2.0, 0.1, 0.05, 0.03, 7), b = a;
    BundleOptions opt;
    opt.function_tolerance = 1e-12, opt.parameter_tolerance = 1e-12;
    BundleSummary sc = bundle_adjust(a, opt);
    opt.device = Device::cuda(0);
    BundleSummary sg = bundle_adjust(b, opt);
    unsetenv("VGSPLAT_BA_PCG");
    std::printf("[ba] %d images, %d residuals: cpu cost %.6f (%d its, %.3f s), cuda (%s) cost %.6f (%d its, %.3f s)\n",
                c.images, sc.num_residuals, sc.final_cost, sc.iterations, sc.seconds, c.pcg ? "pcg" : "dense", sg.final_cost,
                sg.iterations, sg.seconds);
    EXPECT_NEAR(sg.final_cost, sc.final_cost, 1e-6 * sc.final_cost);
    EXPECT_LT(pose_errors(b, a).max_rot_deg, 1e-4);
  }
}

}  // namespace
}  // namespace vg

// ---- Ceres Solver as the oracle ------------------------------------------------------------------
#ifdef VGSPLAT_HAS_CERES
namespace vg {
namespace {

TEST(BundleAdjustment, FinalCostMatchesCeres) {
  struct Case {
    const char* model;
    BundleOptions::Loss loss;
    double outliers;
  };
  for (Case c : {Case{"PINHOLE", BundleOptions::Loss::Trivial, 0.0}, Case{"SIMPLE_RADIAL", BundleOptions::Loss::Huber, 0.05},
                 Case{"OPENCV", BundleOptions::Loss::Cauchy, 0.05}, Case{"RADIAL", BundleOptions::Loss::Trivial, 0.0},
                 Case{"SIMPLE_PINHOLE", BundleOptions::Loss::Huber, 0.05}, Case{"PINHOLE", BundleOptions::Loss::SoftL1, 0.05}}) {
    BaSceneOptions so;
    so.camera_model = c.model;
    so.shared_camera = std::string(c.model) != "PINHOLE";
    so.outlier_fraction = c.outliers;
    ColmapModel m = perturb_ba_scene(make_ba_scene(so), 2.0, 0.1, 0.05, 0.03, 13);
    BundleOptions opt;
    opt.loss = c.loss;
    opt.loss_scale = 2.0;
    ColmapModel mc = m;
    CeresBaSummary cs = ceres_bundle_adjust(mc, opt);
    std::printf("[ceres] %s\n", cs.report.c_str());
    const double ceres_cost = cs.final_cost;
    BundleSummary s = bundle_adjust(m, opt);
    std::printf("[ba] %-14s loss %d: vgsplat %.4f (%d its) vs ceres %.4f: rel diff %.2e\n", c.model,
                static_cast<int>(c.loss), s.final_cost, s.iterations, ceres_cost,
                (s.final_cost - ceres_cost) / ceres_cost);
    EXPECT_NEAR(s.final_cost, ceres_cost, 0.01 * ceres_cost) << c.model;
  }
}

}  // namespace
}  // namespace vg
#endif  // VGSPLAT_HAS_CERES
