// Absolute pose: P3P solutions contain the truth (noise-free), RANSAC + refinement with noise and 30% outliers,
// focal estimation from a wrong prior.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "core/error.h"
#include "geometry/absolute_pose.h"
#include "geometry/camera_models.h"

namespace vg {
namespace {

Eigen::Matrix3d random_rotation(std::mt19937& rng) {
  std::normal_distribution<double> g;
  return Eigen::Quaterniond(g(rng), g(rng), g(rng), g(rng)).normalized().toRotationMatrix();
}

double rot_deg(const Eigen::Matrix3d& A, const Eigen::Matrix3d& B) {
  return Eigen::AngleAxisd(A * B.transpose()).angle() * 180 / M_PI;
}

TEST(AbsolutePose, P3PContainsTruth) {
  std::mt19937 rng(21);
  std::uniform_real_distribution<double> u(-1, 1);
  int failures = 0;
  double worst = 0;
  const int trials = 500;
  for (int trial = 0; trial < trials; ++trial) {
    const Eigen::Matrix3d R = random_rotation(rng);
    const Eigen::Vector3d t(u(rng), u(rng), 4 + u(rng));
    Eigen::Vector3d b[3], X[3];
    for (int i = 0; i < 3; ++i) {
      const Eigen::Vector3d pc(u(rng), u(rng), 3 + 2 * u(rng));  // camera frame, in front
      X[i] = R.transpose() * (pc - t);
      b[i] = pc.normalized();
    }
    double best = 1e9;
    for (const auto& [Rs, ts] : p3p(b, X)) best = std::min(best, (Rs - R).norm() + (ts - t).norm());
    worst = std::max(worst, best);
    failures += best > 1e-8;
  }
  std::printf("p3p: worst error of the closest solution %.3g, %d of %d above 1e-8\n", worst, failures, trials);
  EXPECT_EQ(failures, 0);
}

struct Correspondences {
  Eigen::Matrix3d R;
  Eigen::Vector3d t;
  std::vector<Eigen::Vector2d> x;
  std::vector<Eigen::Vector3d> X;
  std::vector<char> inlier;
};

Correspondences make_data(std::mt19937& rng, const ColmapCamera& cam, int n, double noise_px, double outliers) {
  const int id = colmap_model_id(cam.model);
  std::uniform_real_distribution<double> u(-1, 1), coin(0, 1), ux(0, cam.width), uy(0, cam.height);
  std::normal_distribution<double> g(0, noise_px);
  Correspondences c;
  c.R = random_rotation(rng);
  c.t = Eigen::Vector3d(u(rng), u(rng), 6 + u(rng));
  while (static_cast<int>(c.x.size()) < n) {
    const Eigen::Vector3d pc(2 * u(rng), 1.5 * u(rng), 6 + 3 * u(rng));
    const Eigen::Vector2d px = camera_project(id, cam.params.data(), pc);
    if (px(0) < 0 || px(1) < 0 || px(0) > cam.width || px(1) > cam.height) continue;
    const bool out = coin(rng) < outliers;
    c.X.push_back(c.R.transpose() * (pc - c.t));
    c.x.push_back(out ? Eigen::Vector2d(ux(rng), uy(rng)) : Eigen::Vector2d(px + Eigen::Vector2d(g(rng), g(rng))));
    c.inlier.push_back(!out);
  }
  return c;
}

void check_inliers(const Correspondences& c, const AbsolutePoseResult& r) {
  int true_in = 0, found = 0, false_in = 0;
  for (size_t i = 0; i < c.x.size(); ++i) {
    true_in += c.inlier[i];
    found += c.inlier[i] && r.inlier_mask[i];
    false_in += !c.inlier[i] && r.inlier_mask[i];
  }
  EXPECT_GE(found, 0.98 * true_in);
  EXPECT_LE(false_in, 0.02 * true_in + 1);
}

TEST(AbsolutePose, RansacWithNoiseAndOutliers) {
  std::mt19937 rng(22);
  ColmapCamera cam = default_camera("OPENCV", 1200, 900);
  cam.params[4] = -0.05;
  cam.params[5] = 0.01;
  for (int trial = 0; trial < 5; ++trial) {
    const Correspondences c = make_data(rng, cam, 400, 0.7, 0.3);
    AbsolutePoseOptions opt;
    opt.ransac.seed = trial;
    const auto t0 = std::chrono::steady_clock::now();
    const AbsolutePoseResult r = estimate_absolute_pose(cam, c.x, c.X, opt);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.success);
    const Eigen::Matrix3d R = r.cam_from_world_q.toRotationMatrix();
    const double err = rot_deg(R, c.R);
    const double center_err = (R.transpose() * r.cam_from_world_t - c.R.transpose() * c.t).norm();
    EXPECT_LT(err, 0.1);
    EXPECT_LT(center_err, 0.05);  // scene ~ 6 units away
    check_inliers(c, r);
    std::printf("abs pose trial %d: rot err %.4f deg, centre err %.4f, %d inliers, %.1f ms\n", trial, err, center_err,
                r.num_inliers, ms);
  }
}

TEST(AbsolutePose, EstimatesFocal) {
  std::mt19937 rng(23);
  const ColmapCamera truth = default_camera("SIMPLE_PINHOLE", 1000, 800, 1.1);
  const Correspondences c = make_data(rng, truth, 300, 0.5, 0.2);
  ColmapCamera guess = truth;
  guess.params[0] *= 1.7;  // wrong prior focal
  AbsolutePoseOptions opt;
  opt.estimate_focal = true;
  const auto t0 = std::chrono::steady_clock::now();
  const AbsolutePoseResult r = estimate_absolute_pose(guess, c.x, c.X, opt);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.success);
  const double ferr = std::abs(r.focal / truth.params[0] - 1);
  const double err = rot_deg(r.cam_from_world_q.toRotationMatrix(), c.R);
  std::printf("focal estimation: focal rel err %.5f, rot err %.4f deg, %.1f ms\n", ferr, err, ms);
  EXPECT_LT(ferr, 0.01);
  EXPECT_LT(err, 0.1);
  check_inliers(c, r);
}

TEST(AbsolutePose, TooFewOrBadInput) {
  std::mt19937 rng(24);
  const ColmapCamera cam = default_camera("PINHOLE", 640, 480);
  const Correspondences c = make_data(rng, cam, 20, 0.5, 0.0);
  EXPECT_FALSE(estimate_absolute_pose(cam, c.x, c.X, AbsolutePoseOptions{}).success);  // < 30 inliers
  EXPECT_THROW(estimate_absolute_pose(cam, c.x, {c.X[0]}, AbsolutePoseOptions{}), Error);
  Eigen::Vector3d b[3] = {{0, 0, 1}, {0.1, 0, 1}, {0.2, 0, 1}};
  Eigen::Vector3d X[3] = {{0, 0, 5}, {1, 0, 5}, {2, 0, 5}};  // collinear world points
  EXPECT_TRUE(p3p(b, X).empty());
}

}  // namespace
}  // namespace vg
