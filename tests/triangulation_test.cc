// Triangulation: exact and noisy two-view / multi-view DLT, angles, cheirality, points at infinity.
#include <gtest/gtest.h>

#include <random>

#include <Eigen/Geometry>

#include "geometry/triangulation.h"

namespace vg {
namespace {

Matrix34d look_at_origin(const Eigen::Vector3d& center) {  // camera at `center` looking at the origin
  const Eigen::Vector3d z = (-center).normalized();
  const Eigen::Vector3d x = Eigen::Vector3d::UnitY().cross(z).normalized(), y = z.cross(x);
  Eigen::Matrix3d R;
  R << x.transpose(), y.transpose(), z.transpose();
  Matrix34d P;
  P << R, -R * center;
  return P;
}

Eigen::Vector2d project(const Matrix34d& P, const Eigen::Vector3d& X) { return (P * X.homogeneous()).hnormalized(); }

TEST(Triangulation, ExactTwoAndMultiView) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<Matrix34d> Ps;
  for (int i = 0; i < 6; ++i) Ps.push_back(look_at_origin({6 * std::cos(i * 0.4), 0.5 * u(rng), 6 * std::sin(i * 0.4)}));
  double max_err = 0;
  for (int k = 0; k < 200; ++k) {
    const Eigen::Vector3d X(u(rng), u(rng), u(rng));
    std::vector<Eigen::Vector2d> xs;
    for (const auto& P : Ps) xs.push_back(project(P, X));
    Eigen::Vector3d Y2, Yn;
    ASSERT_TRUE(triangulate_point(Ps[0], Ps[3], xs[0], xs[3], &Y2));
    ASSERT_TRUE(triangulate_multiview(Ps, xs, &Yn));
    max_err = std::max({max_err, (Y2 - X).norm(), (Yn - X).norm()});
    EXPECT_TRUE(has_positive_depth(Ps[0], X));
  }
  EXPECT_LT(max_err, 1e-10);
}

TEST(Triangulation, NoisyMultiView) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  std::normal_distribution<double> noise(0, 0.5 / 1000);  // 0.5 px at f = 1000
  std::vector<Matrix34d> Ps;
  for (int i = 0; i < 8; ++i) Ps.push_back(look_at_origin({6 * std::cos(i * 0.3), 0.3 * u(rng), 6 * std::sin(i * 0.3)}));
  double sum_err = 0;
  const int n = 300;
  for (int k = 0; k < n; ++k) {
    const Eigen::Vector3d X(u(rng), u(rng), u(rng));
    std::vector<Eigen::Vector2d> xs;
    for (const auto& P : Ps) xs.push_back(project(P, X) + Eigen::Vector2d(noise(rng), noise(rng)));
    Eigen::Vector3d Y;
    ASSERT_TRUE(triangulate_multiview(Ps, xs, &Y));
    sum_err += (Y - X).norm();
  }
  // 0.5 px at depth 6 is 3 mm laterally; over a ~120 degree arc of views the mean error stays ~ that.
  EXPECT_LT(sum_err / n, 0.01);
}

// The rays' midpoint in camera-1 coordinates: exact without noise, within the DLT's error with it, false for
// parallel rays; points behind a camera come out with negative depth (the cheirality count relies on it).
TEST(Triangulation, MidpointTwoView) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::normal_distribution<double> noise(0, 0.5 / 1000);
  const Matrix34d P1 = look_at_origin({6, 0.2, 0}), P2 = look_at_origin({5, -0.3, 3});
  // Camera 2 relative to camera 1: cam2 = R cam1 + t.
  const Eigen::Matrix3d R = P2.leftCols<3>() * P1.leftCols<3>().transpose();
  const Eigen::Vector3d t = P2.col(3) - R * P1.col(3);
  double max_exact = 0, sum_mid = 0, sum_dlt = 0;
  for (int k = 0; k < 300; ++k) {
    const Eigen::Vector3d X(u(rng), u(rng), u(rng)), X1 = P1 * X.homogeneous();
    Eigen::Vector3d Y, Yd;
    ASSERT_TRUE(triangulate_midpoint(R, t, project(P1, X), project(P2, X), &Y));
    max_exact = std::max(max_exact, (Y - X1).norm());
    const Eigen::Vector2d x1 = project(P1, X) + Eigen::Vector2d(noise(rng), noise(rng));
    const Eigen::Vector2d x2 = project(P2, X) + Eigen::Vector2d(noise(rng), noise(rng));
    ASSERT_TRUE(triangulate_midpoint(R, t, x1, x2, &Y));
    ASSERT_TRUE(triangulate_point(Matrix34d::Identity(), (Matrix34d() << R, t).finished(), x1, x2, &Yd));
    sum_mid += (Y - X1).norm(), sum_dlt += (Yd - X1).norm();
  }
  EXPECT_LT(max_exact, 1e-10);
  EXPECT_LT(sum_mid, 1.2 * sum_dlt);
  Eigen::Vector3d Y;
  EXPECT_FALSE(triangulate_midpoint(Eigen::Matrix3d::Identity(), {-1, 0, 0}, {0.1, 0.2}, {0.1, 0.2}, &Y));
  // A point behind camera 1 (z = -2 there): both rays meet it with negative depth.
  const Eigen::Vector3d B(0.3, -0.1, -2), B2 = R * B + t;
  ASSERT_TRUE(triangulate_midpoint(R, t, B.hnormalized(), B2.hnormalized(), &Y));
  EXPECT_NEAR(Y.z(), -2, 1e-9);
}

TEST(Triangulation, AngleDepthAndInfinity) {
  EXPECT_NEAR(triangulation_angle({1, 0, 0}, {-1, 0, 0}, {0, 1, 0}), M_PI / 2, 1e-12);
  EXPECT_NEAR(triangulation_angle({0, 0, 0}, {1e-6, 0, 0}, {0, 0, 1}), 1e-6, 1e-15);
  Matrix34d P1 = Matrix34d::Identity(), P2 = Matrix34d::Identity();
  P2(0, 3) = -1;
  EXPECT_FALSE(has_positive_depth(P1, {0, 0, -1}));
  EXPECT_TRUE(has_positive_depth(P2, {0, 0, 1}));
  Eigen::Vector3d X;
  EXPECT_FALSE(triangulate_point(P1, P2, {0.1, 0.2}, {0.1, 0.2}, &X));  // parallel rays
  EXPECT_FALSE(triangulate_multiview({P1}, {{0.1, 0.2}}, &X));
}

}  // namespace
}  // namespace vg
