// Rotation averaging: absolute rotations from noisy relative rotations with outliers, started 3 deg off.
#include "sfm/rotation_averaging.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include <Eigen/Geometry>

using namespace vg;

namespace {

Eigen::Matrix3d random_rotation(std::mt19937_64& rng, double deg) {
  std::normal_distribution<double> g;
  const Eigen::Vector3d axis = Eigen::Vector3d(g(rng), g(rng), g(rng)).normalized();
  return Eigen::AngleAxisd(deg * M_PI / 180, axis).toRotationMatrix();
}

TEST(RotationAveraging, RecoversRotationsFromNoisyPairsWithOutliers) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  const int n = 20;
  std::vector<Eigen::Matrix3d> truth, initial;
  for (int i = 0; i < n; ++i) truth.push_back(random_rotation(rng, 180 * u(rng)));
  for (int i = 0; i < n; ++i) initial.push_back(random_rotation(rng, 3.0) * truth[i]);
  initial.push_back(random_rotation(rng, 50));  // image 20: no pair, keeps its rotation
  std::vector<RelativeRotation> pairs;
  int outliers = 0;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      if (u(rng) < 0.5) continue;
      const bool outlier = u(rng) < 0.1;
      outliers += outlier;
      pairs.push_back({i, j, random_rotation(rng, outlier ? 30 : 0.1) * truth[j] * truth[i].transpose(), 100});
    }
  RotationAveragingReport rep;
  const std::vector<Eigen::Matrix3d> R = average_rotations(initial, pairs, {}, &rep);
  // Errors after the best common rotation (a right factor) between R and the truth.
  Eigen::Matrix3d S = Eigen::Matrix3d::Zero();
  for (int i = 0; i < n; ++i) S += R[i].transpose() * truth[i];
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(S, Eigen::ComputeFullU | Eigen::ComputeFullV);
  const Eigen::Matrix3d Q = svd.matrixU() * svd.matrixV().transpose();
  double before = 0, after = 0;
  for (int i = 0; i < n; ++i) {
    before = std::max(before, rotation_angle_deg(initial[i], truth[i]));
    after = std::max(after, rotation_angle_deg(R[i] * Q, truth[i]));
  }
  std::printf("[rotation averaging] %zu pairs (%d outliers): max error %.3f -> %.4f deg, %d sweeps, median residual "
              "%.3f deg, global correction %.3f deg\n", pairs.size(), outliers, before, after, rep.sweeps,
              rep.median_residual_deg, rotation_angle_deg(Q, Eigen::Matrix3d::Identity()));
  EXPECT_LT(after, 0.1);
  EXPECT_LT(rotation_angle_deg(Q, Eigen::Matrix3d::Identity()), 3.0);  // aligned to the initial rotations
  EXPECT_EQ(rep.images_connected, n);
  EXPECT_NEAR(rotation_angle_deg(R[n], initial[n]), 0, 1e-9);
}

TEST(RotationAveraging, BadPairIsAnError) {
  std::vector<Eigen::Matrix3d> initial(3, Eigen::Matrix3d::Identity());
  EXPECT_ANY_THROW(average_rotations(initial, {{0, 3, Eigen::Matrix3d::Identity(), 1}}));
  EXPECT_ANY_THROW(average_rotations(initial, {{1, 1, Eigen::Matrix3d::Identity(), 1}}));
}

}  // namespace
