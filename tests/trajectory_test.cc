// Camera paths (geometry/trajectory.h) against the shapes gsplat's traj.py produces.
#include <gtest/gtest.h>

#include <cmath>

#include <Eigen/Dense>

#include "core/error.h"
#include "geometry/trajectory.h"

namespace vg::traj {
namespace {

// n cameras on a circle of radius r at height h around the z axis, looking at the origin.
std::vector<Pose> ring(int n, double r, double h, double arc = 2 * M_PI) {
  std::vector<Pose> out;
  for (int i = 0; i < n; ++i) {
    const double a = arc * i / n;
    const Eigen::Vector3d p(r * std::cos(a), r * std::sin(a), h);
    out.push_back(viewmatrix(-p, Eigen::Vector3d(0, 0, -1), p));
  }
  return out;
}

double pose_distance(const Pose& a, const Pose& b) { return (a - b).cwiseAbs().maxCoeff(); }

TEST(Trajectory, ViewmatrixIsARotation) {
  const Pose p = viewmatrix(Eigen::Vector3d(1, 2, 3), Eigen::Vector3d(0, 0, 1), Eigen::Vector3d(4, 5, 6));
  const Eigen::Matrix3d R = p.leftCols<3>();
  EXPECT_LT((R.transpose() * R - Eigen::Matrix3d::Identity()).norm(), 1e-12);
  EXPECT_NEAR(R.determinant(), 1.0, 1e-12);
  EXPECT_LT((R.col(2) - Eigen::Vector3d(1, 2, 3).normalized()).norm(), 1e-12);
}

TEST(Trajectory, PercentileMatchesNumpyLinear) {
  std::vector<Eigen::Vector3d> v = {{1, 10, 0}, {2, 20, 0}, {3, 30, 0}, {4, 40, 0}};
  const Eigen::Vector3d p = percentile(v, 90);  // np.percentile([1,2,3,4], 90) = 3.7
  EXPECT_NEAR(p.x(), 3.7, 1e-12);
  EXPECT_NEAR(p.y(), 37.0, 1e-12);
  EXPECT_NEAR(percentile(v, 10).x(), 1.3, 1e-12);
}

TEST(Trajectory, FocusPointOfARingIsItsCentre) {
  const Eigen::Vector3d f = focus_point(ring(12, 3, 1));
  EXPECT_LT(f.norm(), 1e-9);
}

TEST(Trajectory, ParallelAxesHaveNoFocusPoint) {
  std::vector<Pose> cams;
  for (int i = 0; i < 4; ++i)
    cams.push_back(viewmatrix(Eigen::Vector3d(0, 0, 1), Eigen::Vector3d(0, -1, 0), Eigen::Vector3d(i, 0, 0)));
  EXPECT_THROW(focus_point(cams), Error);
}

TEST(Trajectory, InterpPassesThroughTheCameras) {
  // Equal spacing on an arc: equal chord lengths, so output i * n_interp sits at camera i's parameter.
  const std::vector<Pose> cams = ring(9, 4, 1.5, M_PI);
  for (int n_interp : {1, 3}) {
    const std::vector<Pose> path = interpolated_path(cams, n_interp);
    ASSERT_EQ(path.size(), size_t(n_interp * 8));
    for (size_t i = 0; i < 8; ++i) EXPECT_LT(pose_distance(path[i * n_interp], cams[i]), 1e-9) << i;
    for (const Pose& p : path)  // between the cameras it stays near the arc
      EXPECT_NEAR(p.col(3).head<2>().norm(), 4.0, 0.02);
  }
}

TEST(Trajectory, InterpWithFewCamerasLowersTheDegree) {
  const std::vector<Pose> cams = ring(3, 2, 0, M_PI / 2);  // k = min(5, 2)
  const std::vector<Pose> path = interpolated_path(cams, 4);
  ASSERT_EQ(path.size(), 8u);
  EXPECT_LT(pose_distance(path[0], cams[0]), 1e-9);
}

TEST(Trajectory, EllipseCirclesTheFocusPointAtTheHeight) {
  std::vector<Pose> cams = ring(16, 3, 0.5);
  const std::vector<Pose> path = ellipse_path_z(cams, 120, 0, 0, 0.5);
  ASSERT_EQ(path.size(), 120u);
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  for (const Pose& p : path) {
    EXPECT_NEAR(p(2, 3), 0.5, 1e-12);
    const Eigen::Vector3d to_centre = (Eigen::Vector3d(0, 0, 0) - p.col(3)).normalized();
    EXPECT_GT(p.col(2).dot(to_centre), 1 - 1e-9);  // looks at the focus point
    mean += p.col(3) / 120.0;
  }
  EXPECT_LT(mean.head<2>().norm(), 1e-9);
  // 90th percentile of |x - cx| over the ring: the ellipse's half axis.
  std::vector<Eigen::Vector3d> dev;
  for (const Pose& c : cams) dev.push_back((c.col(3) - Eigen::Vector3d(0, 0, 0.5)).cwiseAbs());
  EXPECT_NEAR(path[0](0, 3), percentile(dev, 90).x(), 1e-9);  // theta = 0: x = high
}

TEST(Trajectory, SpiralTurnsAroundTheAveragePose) {
  std::vector<Pose> cams;  // a forward-facing capture: cameras on a small grid, all looking along +z
  for (int i = 0; i < 9; ++i) {
    const Eigen::Vector3d p(0.2 * (i % 3 - 1), 0.1 * (i / 3 - 1), 0.05 * (i % 2));
    cams.push_back(viewmatrix(Eigen::Vector3d(0, 0, 1), Eigen::Vector3d(0, -1, 0), p));
  }
  const std::vector<Pose> path = spiral_path(cams, 0.5, 5.0);
  ASSERT_EQ(path.size(), 120u);
  Eigen::Vector3d mean = Eigen::Vector3d::Zero(), avg = average_pose(cams).col(3);
  for (const Pose& p : path) mean += p.col(3) / 120.0;
  EXPECT_LT((mean - avg).norm(), 1e-9);  // two full turns: the offsets average out
  const double focal = 1 / (0.25 / 0.5 + 0.75 / 5.0);
  const Eigen::Vector3d lookat = average_pose(cams) * Eigen::Vector4d(0, 0, -focal, 1);
  for (const Pose& p : path) EXPECT_GT(p.col(2).dot((p.col(3) - lookat).normalized()), 1 - 1e-9);
}

}  // namespace
}  // namespace vg::traj
