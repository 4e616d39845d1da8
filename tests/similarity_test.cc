// Similarity: Umeyama recovers a random similarity; compare_poses is zero up to a similarity.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "geometry/similarity.h"

namespace vg {
namespace {

Eigen::Matrix3d random_rotation(std::mt19937& rng) {
  std::normal_distribution<double> g;
  return Eigen::Quaterniond(g(rng), g(rng), g(rng), g(rng)).normalized().toRotationMatrix();
}

TEST(Similarity, UmeyamaRecoversRandomSimilarity) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-5, 5);
  for (int trial = 0; trial < 20; ++trial) {
    Sim3 truth;
    truth.scale = std::exp(u(rng) / 3);
    truth.R = random_rotation(rng);
    truth.t = Eigen::Vector3d(u(rng), u(rng), u(rng));
    std::vector<Eigen::Vector3d> src, dst;
    for (int i = 0; i < 50; ++i) {
      src.emplace_back(u(rng), u(rng), u(rng));
      dst.push_back(truth.apply(src.back()));
    }
    const Sim3 est = umeyama(src, dst);
    EXPECT_NEAR(est.scale, truth.scale, 1e-10);
    EXPECT_LT((est.R - truth.R).norm(), 1e-10);
    EXPECT_LT((est.t - truth.t).norm(), 1e-9);
    const Sim3 inv = est.inverse();
    EXPECT_LT((inv.apply(est.apply(src[0])) - src[0]).norm(), 1e-10);
    EXPECT_LT(((est.matrix() * src[1].homogeneous()).head<3>() - dst[1]).norm(), 1e-9);
  }
  // Without scale: rigid part only.
  Sim3 rigid;
  rigid.R = random_rotation(rng);
  rigid.t = {1, 2, 3};
  std::vector<Eigen::Vector3d> src, dst;
  for (int i = 0; i < 10; ++i) {
    src.emplace_back(u(rng), u(rng), u(rng));
    dst.push_back(rigid.apply(src.back()));
  }
  const Sim3 est = umeyama(src, dst, false);
  EXPECT_DOUBLE_EQ(est.scale, 1.0);
  EXPECT_LT((est.R - rigid.R).norm(), 1e-10);
  EXPECT_THROW(umeyama({src[0], src[1]}, {dst[0], dst[1]}), Error);
}

TEST(Similarity, ComparePosesZeroUpToSimilarity) {
  std::mt19937 rng(13);
  std::uniform_real_distribution<double> u(-3, 3);
  std::vector<Eigen::Matrix4d> truth, est;
  Sim3 s;  // estimated world = s(true world)
  s.scale = 0.37;
  s.R = random_rotation(rng);
  s.t = {0.5, -2, 4};
  for (int i = 0; i < 10; ++i) {
    Eigen::Matrix4d T = Eigen::Matrix4d::Identity();
    T.topLeftCorner<3, 3>() = random_rotation(rng);
    T.topRightCorner<3, 1>() = Eigen::Vector3d(u(rng), u(rng), u(rng));
    truth.push_back(T);
    // Same camera in the transformed world: x_cam = R X + t with X = s^-1(X'), camera centre scaled.
    const Eigen::Matrix3d R = T.topLeftCorner<3, 3>() * s.R.transpose();
    const Eigen::Vector3d C = s.apply(-T.topLeftCorner<3, 3>().transpose() * T.topRightCorner<3, 1>());
    Eigen::Matrix4d E = Eigen::Matrix4d::Identity();
    E.topLeftCorner<3, 3>() = R;
    E.topRightCorner<3, 1>() = -R * C;
    est.push_back(E);
  }
  PoseErrors e = compare_poses(est, truth);
  EXPECT_LT(e.max_rotation_deg, 1e-6);
  EXPECT_LT(e.max_center, 1e-9);
  // One of 10 cameras rotated by 1 degree about its own axis: the common rotation (chordal mean) takes a tenth
  // of it, so that camera's error is 0.9 degree and every other camera's 0.1.
  const Eigen::Vector3d C4 = -est[4].topLeftCorner<3, 3>().transpose() * est[4].topRightCorner<3, 1>();
  est[4].topLeftCorner<3, 3>() = Eigen::AngleAxisd(M_PI / 180, Eigen::Vector3d::UnitY()) * est[4].topLeftCorner<3, 3>();
  est[4].topRightCorner<3, 1>() = -est[4].topLeftCorner<3, 3>() * C4;  // same centre
  e = compare_poses(est, truth);
  EXPECT_NEAR(e.rotation_deg[4], 0.9, 1e-4);
  for (int i = 0; i < 10; ++i)
    if (i != 4) EXPECT_NEAR(e.rotation_deg[i], 0.1, 1e-4) << i;
  EXPECT_NEAR(e.mean_rotation_deg, 0.18, 1e-4);
  EXPECT_LT(e.max_center, 1e-9);  // centres untouched
  EXPECT_THROW(compare_poses({est[0]}, {truth[0], truth[1]}), Error);
}

}  // namespace
}  // namespace vg
