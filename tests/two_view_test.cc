// Two-view geometry: exact minimal/linear solvers on noise-free data, and RANSAC with noise and 30% outliers
// recovering the relative pose and the inlier set; configuration decisions (calibrated, uncalibrated, planar,
// panoramic, watermark, degenerate).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "core/error.h"
#include "geometry/camera_models.h"
#include "geometry/two_view.h"
#include "geometry/two_view_internal.h"

namespace vg {
namespace {

Eigen::Matrix3d skew(const Eigen::Vector3d& v) {
  Eigen::Matrix3d S;
  S << 0, -v(2), v(1), v(2), 0, -v(0), -v(1), v(0), 0;
  return S;
}

// Distance between matrices up to scale and sign.
double proj_dist(Eigen::Matrix3d A, Eigen::Matrix3d B) {
  A /= A.norm();
  B /= B.norm();
  return std::min((A - B).norm(), (A + B).norm());
}

double rot_deg(const Eigen::Matrix3d& A, const Eigen::Matrix3d& B) {
  return Eigen::AngleAxisd(A * B.transpose()).angle() * 180 / M_PI;
}

struct Scene {
  Eigen::Matrix3d R;  // cam2_from_cam1
  Eigen::Vector3d t;
  std::vector<Eigen::Vector3d> X;  // in camera 1
  std::vector<Eigen::Vector2d> x1n, x2n;
};

Scene make_scene(std::mt19937& rng, int n, bool planar = false, bool rotation_only = false) {
  std::uniform_real_distribution<double> u(-1, 1);
  Scene s;
  s.R = Eigen::AngleAxisd(0.3 * u(rng), Eigen::Vector3d(u(rng), u(rng), u(rng)).normalized()).toRotationMatrix();
  s.t = rotation_only ? Eigen::Vector3d::Zero() : Eigen::Vector3d(1 + 0.2 * u(rng), 0.2 * u(rng), 0.2 * u(rng));
  const Eigen::Vector3d nrm = Eigen::Vector3d(0.2 * u(rng), 0.2 * u(rng), 1).normalized();
  while (static_cast<int>(s.X.size()) < n) {
    Eigen::Vector3d X(2 * u(rng), 2 * u(rng), 5 + 2 * u(rng));
    if (planar) X -= nrm * (nrm.dot(X) - 5);  // onto the plane n.X = 5
    const Eigen::Vector3d X2 = s.R * X + s.t;
    if (X(2) < 0.5 || X2(2) < 0.5) continue;
    s.X.push_back(X);
    s.x1n.push_back(X.hnormalized());
    s.x2n.push_back(X2.hnormalized());
  }
  return s;
}

// Real roots of cubics: three distinct, one real (complex pair), a double root, and a leading coefficient
// ~0 (a quadratic); every returned root is a root, and every true root is found.
TEST(TwoView, SolveCubicReal) {
  struct Case {
    double a, b, c, d;
    std::vector<double> roots;
  };
  const std::vector<Case> cases = {
      {1, -6, 11, -6, {1, 2, 3}},           // (t-1)(t-2)(t-3)
      {2, -2, 2, -2, {1}},                  // 2 (t-1)(t^2+1)
      {1, -3, 0, 4, {-1, 2}},               // (t-2)^2 (t+1)
      {1, 0, 0, -8, {2}},                   // t^3 = 8
      {-0.5, 1.5e3, -1e-3, 0, {0, 3000}},   // wide scales: roots ~6.7e-7 and ~3000
      {1e-20, 1, -3, 2, {1, 2}},            // a quadratic in disguise
  };
  for (const Case& k : cases) {
    const std::vector<double> r = solve_cubic_real(k.a, k.b, k.c, k.d);
    for (double t : r) {
      const double scale = std::max({std::abs(k.a * t * t * t), std::abs(k.b * t * t), std::abs(k.c * t), std::abs(k.d), 1e-12});
      EXPECT_LT(std::abs(((k.a * t + k.b) * t + k.c) * t + k.d), 1e-9 * scale) << "root " << t;
    }
    for (double want : k.roots) {
      double best = INFINITY;
      for (double t : r) best = std::min(best, std::abs(t - want));
      EXPECT_LT(best, 1e-6 * std::max(1.0, std::abs(want))) << "missing root " << want << " of " << k.a << " " << k.b;
    }
  }
}

TEST(TwoView, Essential5ptExact) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 50; ++trial) {
    const Scene s = make_scene(rng, 5);
    const Eigen::Matrix3d E = skew(s.t) * s.R;
    const auto Es = essential_5pt(s.x1n, s.x2n);
    double best = 1e9;
    for (const auto& e : Es) best = std::min(best, proj_dist(e, E));
    EXPECT_LT(best, 1e-8) << "trial " << trial << " solutions " << Es.size();
    // Every returned E satisfies the five constraints.
    for (const auto& e : Es)
      for (int i = 0; i < 5; ++i) EXPECT_LT(std::abs(s.x2n[i].homogeneous().dot(e * s.x1n[i].homogeneous())), 1e-9);
  }
  const Scene s = make_scene(rng, 40);  // over-determined: least-squares null space, still exact
  double best = 1e9;
  for (const auto& e : essential_5pt(s.x1n, s.x2n)) best = std::min(best, proj_dist(e, skew(s.t) * s.R));
  EXPECT_LT(best, 1e-8);
}

TEST(TwoView, FundamentalAndHomographyExact) {
  std::mt19937 rng(2);
  Eigen::Matrix3d K1, K2;
  K1 << 800, 0, 320, 0, 800, 240, 0, 0, 1;
  K2 << 900, 0, 300, 0, 880, 260, 0, 0, 1;
  auto pix = [](const Eigen::Matrix3d& K, const std::vector<Eigen::Vector2d>& xn) {
    std::vector<Eigen::Vector2d> out;
    for (const auto& x : xn) out.push_back((K * x.homogeneous()).hnormalized());
    return out;
  };
  for (int trial = 0; trial < 30; ++trial) {
    const Scene s = make_scene(rng, 8);
    const auto p1 = pix(K1, s.x1n), p2 = pix(K2, s.x2n);
    const Eigen::Matrix3d F = K2.inverse().transpose() * skew(s.t) * s.R * K1.inverse();
    EXPECT_LT(proj_dist(fundamental_8pt(p1, p2), F), 1e-8);
    const std::vector<Eigen::Vector2d> q1(p1.begin(), p1.begin() + 7), q2(p2.begin(), p2.begin() + 7);
    double best = 1e9;
    for (const auto& f : fundamental_7pt(q1, q2)) best = std::min(best, proj_dist(f, F));
    EXPECT_LT(best, 1e-8);

    const Scene pl = make_scene(rng, 4, true);
    // H = K2 (R + t n^T / d) K1^-1 for the plane n.X = d in camera 1: recover n, d from three points.
    const Eigen::Vector3d nrm = (pl.X[1] - pl.X[0]).cross(pl.X[2] - pl.X[0]).normalized();
    const double d = nrm.dot(pl.X[0]);
    const Eigen::Matrix3d H = K2 * (pl.R + pl.t * nrm.transpose() / d) * K1.inverse();
    EXPECT_LT(proj_dist(homography_dlt(pix(K1, pl.x1n), pix(K2, pl.x2n)), H), 1e-8);
  }
}

TEST(TwoView, PoseFromEssentialAndHomography) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    const Scene s = make_scene(rng, 30);
    Eigen::Matrix3d R;
    Eigen::Vector3d t;
    EXPECT_EQ(pose_from_essential(skew(s.t) * s.R, s.x1n, s.x2n, &R, &t), 30);
    EXPECT_LT(rot_deg(R, s.R), 1e-7);
    EXPECT_LT((t - s.t.normalized()).norm(), 1e-9);

    const Scene pl = make_scene(rng, 30, true);
    const Eigen::Vector3d nrm = (pl.X[1] - pl.X[0]).cross(pl.X[2] - pl.X[0]).normalized();
    const Eigen::Matrix3d Hn = pl.R + pl.t * nrm.transpose() / nrm.dot(pl.X[0]);
    EXPECT_EQ(pose_from_homography(-2.5 * Hn, pl.x1n, pl.x2n, &R, &t), 30);  // any scale and sign
    EXPECT_LT(rot_deg(R, pl.R), 1e-7);
    EXPECT_LT((t.normalized() - pl.t.normalized()).norm(), 1e-7);
  }
}

// Pixel correspondences: inliers with Gaussian noise, then a share of random outlier matches.
struct Matches {
  std::vector<Eigen::Vector2d> p1, p2;
  FeatureMatches matches;
  std::vector<char> is_inlier;
};

Matches make_matches(std::mt19937& rng, const Scene& s, const ColmapCamera& cam, double noise_px, double outliers) {
  const int id = colmap_model_id(cam.model);
  std::normal_distribution<double> g(0, noise_px);
  std::uniform_real_distribution<double> ux(0, cam.width), uy(0, cam.height), coin(0, 1);
  Matches m;
  for (size_t i = 0; i < s.X.size(); ++i) {
    const bool out = coin(rng) < outliers;
    Eigen::Vector2d a = camera_project(id, cam.params.data(), s.X[i]);
    Eigen::Vector2d b = camera_project(id, cam.params.data(), Eigen::Vector3d(s.R * s.X[i] + s.t));
    if (out) {
      b = Eigen::Vector2d(ux(rng), uy(rng));
    } else {
      a += Eigen::Vector2d(g(rng), g(rng));
      b += Eigen::Vector2d(g(rng), g(rng));
    }
    m.p1.push_back(a);
    m.p2.push_back(b);
    m.matches.emplace_back(static_cast<int>(i), static_cast<int>(i));
    m.is_inlier.push_back(!out);
  }
  return m;
}

void expect_inliers_match(const Matches& m, const TwoViewGeometry& g, double min_recall) {
  std::vector<char> found(m.matches.size(), 0);
  for (const auto& [i, j] : g.inlier_matches) found[i] = 1;
  int true_in = 0, recovered = 0, false_in = 0;
  for (size_t i = 0; i < found.size(); ++i) {
    true_in += m.is_inlier[i];
    recovered += m.is_inlier[i] && found[i];
    false_in += !m.is_inlier[i] && found[i];
  }
  EXPECT_GE(recovered, min_recall * true_in);
  EXPECT_LE(false_in, 0.03 * true_in);  // a random outlier may fall within 4 px of its epipolar line
}

TEST(TwoView, RansacCalibratedWithOutliers) {
  std::mt19937 rng(4);
  ColmapCamera cam = default_camera("SIMPLE_RADIAL", 1000, 750);
  cam.params[3] = -0.05;
  for (int trial = 0; trial < 5; ++trial) {
    const Scene s = make_scene(rng, 300);
    const Matches m = make_matches(rng, s, cam, 0.5, 0.3);
    TwoViewOptions opt;
    opt.ransac.seed = trial;
    const auto t0 = std::chrono::steady_clock::now();
    const TwoViewGeometry g = estimate_two_view_geometry(cam, m.p1, cam, m.p2, m.matches, true, opt);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(g.config, TwoViewGeometry::CALIBRATED);
    const double err = rot_deg(g.cam2_from_cam1_q.toRotationMatrix(), s.R);
    const double t_err = std::acos(std::clamp(g.cam2_from_cam1_t.dot(s.t.normalized()), -1.0, 1.0)) * 180 / M_PI;
    EXPECT_LT(err, 0.1);
    EXPECT_LT(t_err, 2.0);
    EXPECT_GT(g.tri_angle, 0.05);
    expect_inliers_match(m, g, 0.95);
    std::printf("calibrated trial %d: rot err %.4f deg, t err %.3f deg, %zu inliers, %.1f ms\n", trial, err, t_err,
                g.inlier_matches.size(), ms);
  }
}

TEST(TwoView, RansacUncalibratedWithOutliers) {
  std::mt19937 rng(5);
  const ColmapCamera cam = default_camera("PINHOLE", 1000, 750);
  const Scene s = make_scene(rng, 300);
  const Matches m = make_matches(rng, s, cam, 0.5, 0.3);
  const TwoViewGeometry g = estimate_two_view_geometry(cam, m.p1, cam, m.p2, m.matches, false, TwoViewOptions{});
  ASSERT_EQ(g.config, TwoViewGeometry::UNCALIBRATED);
  const double err = rot_deg(g.cam2_from_cam1_q.toRotationMatrix(), s.R);
  EXPECT_LT(err, 0.3);
  std::printf("uncalibrated: rot err %.4f deg, %zu inliers\n", err, g.inlier_matches.size());
  expect_inliers_match(m, g, 0.95);
  // Its F satisfies the epipolar constraint on the true inliers.
  double mean = 0;
  int n = 0;
  for (size_t i = 0; i < m.p1.size(); ++i)
    if (m.is_inlier[i]) mean += std::sqrt(sampson_error_sq(g.F, m.p1[i], m.p2[i])), ++n;
  EXPECT_LT(mean / n, 1.0);
}

TEST(TwoView, PlanarPanoramicWatermarkDegenerate) {
  std::mt19937 rng(6);
  const ColmapCamera cam = default_camera("PINHOLE", 1000, 750);
  {
    const Scene s = make_scene(rng, 200, true);
    const Matches m = make_matches(rng, s, cam, 0.3, 0.2);
    const TwoViewGeometry g = estimate_two_view_geometry(cam, m.p1, cam, m.p2, m.matches, true, TwoViewOptions{});
    EXPECT_EQ(g.config, TwoViewGeometry::PLANAR);
    EXPECT_LT(rot_deg(g.cam2_from_cam1_q.toRotationMatrix(), s.R), 0.2);
  }
  {
    const Scene s = make_scene(rng, 200, false, true);
    const Matches m = make_matches(rng, s, cam, 0.3, 0.2);
    const TwoViewGeometry g = estimate_two_view_geometry(cam, m.p1, cam, m.p2, m.matches, true, TwoViewOptions{});
    EXPECT_EQ(g.config, TwoViewGeometry::PANORAMIC);
    EXPECT_LT(rot_deg(g.cam2_from_cam1_q.toRotationMatrix(), s.R), 0.1);
    EXPECT_EQ(g.cam2_from_cam1_t.norm(), 0.0);
  }
  {
    // A watermark: the same static features in the border band of both images.
    std::uniform_real_distribution<double> u(0, 1);
    Matches m;
    for (int i = 0; i < 60; ++i) {
      const Eigen::Vector2d p(950 + 40 * u(rng), 700 + 40 * u(rng));
      m.p1.push_back(p);
      m.p2.push_back(p + Eigen::Vector2d(0.2 * u(rng), 0.2 * u(rng)));
      m.matches.emplace_back(i, i);
    }
    const TwoViewGeometry g = estimate_two_view_geometry(cam, m.p1, cam, m.p2, m.matches, true, TwoViewOptions{});
    EXPECT_EQ(g.config, TwoViewGeometry::WATERMARK);
  }
  {
    const Scene s = make_scene(rng, 10);
    const Matches m = make_matches(rng, s, cam, 0.3, 0.0);
    const TwoViewGeometry g = estimate_two_view_geometry(cam, m.p1, cam, m.p2, m.matches, true, TwoViewOptions{});
    EXPECT_EQ(g.config, TwoViewGeometry::DEGENERATE);  // fewer than 15 matches
    EXPECT_THROW(estimate_two_view_geometry(cam, m.p1, cam, m.p2, {{0, 99}}, true, TwoViewOptions{}), Error);
  }
}

}  // namespace
}  // namespace vg
