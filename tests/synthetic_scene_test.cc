#include "sfm/synthetic_scene.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include <Eigen/Geometry>

#include "core/error.h"

using namespace vg;

namespace {

Eigen::Vector3d to_cam(const ColmapImage& im, const ColmapPoint3D& p) {
  Eigen::Quaterniond q(im.qvec[0], im.qvec[1], im.qvec[2], im.qvec[3]);
  return q * Eigen::Vector3d(p.xyz[0], p.xyz[1], p.xyz[2]) + Eigen::Vector3d(im.tvec[0], im.tvec[1], im.tvec[2]);
}

}  // namespace

TEST(SyntheticScene, ProjectionsMatchKeypointsWithinNoise) {
  SyntheticOptions opt;
  opt.camera_model = "SIMPLE_RADIAL";
  opt.radial = -0.05;
  opt.noise_px = 0.5;
  SyntheticScene s = make_synthetic_scene(opt);
  ASSERT_EQ(s.input.images.size(), 16u);
  ASSERT_EQ(s.truth.images.size(), 16u);
  double sq = 0;
  int n = 0;
  for (const auto& [id, im] : s.truth.images) {
    const MapperImage& mi = s.input.images[id - 1];
    ASSERT_EQ(mi.keypoints.size() * 2, im.xys.size());
    ASSERT_EQ(mi.colors.size(), mi.keypoints.size());
    for (size_t f = 0; f < im.point3D_ids.size(); ++f) {
      if (im.point3D_ids[f] < 0) continue;
      const ColmapPoint3D& p = s.truth.points.at(im.point3D_ids[f]);
      Eigen::Vector3d pc = to_cam(im, p);
      ASSERT_GT(pc.z(), 0);
      Eigen::Vector2d px = synthetic_project(s.truth.cameras.at(im.camera_id), pc);
      EXPECT_LT((px - mi.keypoints[f]).norm(), 6 * opt.noise_px);
      EXPECT_EQ(mi.colors[f], p.rgb);
      sq += (px - mi.keypoints[f]).squaredNorm();
      ++n;
    }
  }
  const double rms = std::sqrt(sq / n / 2);  // per coordinate
  EXPECT_NEAR(rms, opt.noise_px, 0.05);
  EXPECT_GT(n, 16 * 300);
}

TEST(SyntheticScene, PairsHoldTheRequestedOutlierRatio) {
  SyntheticOptions opt;
  opt.outlier_ratio = 0.2;
  SyntheticScene s = make_synthetic_scene(opt);
  ASSERT_GT(s.input.pairs.size(), 40u);
  size_t total = 0, wrong = 0;
  for (const auto& [p, tv] : s.input.pairs) {
    auto [i, j] = p;
    ASSERT_LT(i, j);
    EXPECT_GE(static_cast<int>(tv.inlier_matches.size()), opt.min_pair_matches);
    EXPECT_EQ(tv.config, TwoViewGeometry::CALIBRATED);
    std::set<int> seen1, seen2;
    for (auto [a, b] : tv.inlier_matches) {
      EXPECT_TRUE(seen1.insert(a).second && seen2.insert(b).second);  // one-to-one
      const int64_t pa = s.truth.images.at(i + 1).point3D_ids[a], pb = s.truth.images.at(j + 1).point3D_ids[b];
      ++total;
      wrong += (pa < 0 || pa != pb);
    }
    EXPECT_GT(tv.tri_angle, 0);
  }
  EXPECT_NEAR(double(wrong) / total, 0.2, 0.02);
}

TEST(SyntheticScene, UnknownFocalStartsFromGuess) {
  SyntheticOptions opt;
  opt.prior_focal = false;
  opt.focal_factor = 1.0;
  opt.camera_model = "SIMPLE_RADIAL";
  opt.radial = -0.05;
  opt.num_images = 4;
  opt.num_points = 200;
  SyntheticScene s = make_synthetic_scene(opt);
  for (const auto& [id, cam] : s.input.cameras) {
    EXPECT_FALSE(s.input.camera_has_prior_focal.at(id));
    EXPECT_DOUBLE_EQ(cam.params[0], 1.2 * 640);
    EXPECT_DOUBLE_EQ(cam.params[3], 0);
    EXPECT_DOUBLE_EQ(s.truth.cameras.at(id).params[0], 640);
  }
  for (const auto& [p, tv] : s.input.pairs) EXPECT_EQ(tv.config, TwoViewGeometry::UNCALIBRATED);
}

TEST(SyntheticScene, ClustersShareNoMatches) {
  SyntheticOptions opt;
  opt.num_clusters = 2;
  opt.num_images = 12;
  opt.num_points = 800;
  SyntheticScene s = make_synthetic_scene(opt);
  int within[2] = {0, 0};
  for (const auto& [p, tv] : s.input.pairs) {
    ASSERT_EQ(s.cluster_of_image[p.first], s.cluster_of_image[p.second]);
    ++within[s.cluster_of_image[p.first]];
  }
  EXPECT_GT(within[0], 5);
  EXPECT_GT(within[1], 5);
}

TEST(SyntheticScene, BadOptionsThrow) {
  SyntheticOptions opt;
  opt.camera_model = "FISHEYE";
  EXPECT_THROW(make_synthetic_scene(opt), Error);
  opt = SyntheticOptions{};
  opt.num_images = 1;
  EXPECT_THROW(make_synthetic_scene(opt), Error);
  opt = SyntheticOptions{};
  opt.outlier_ratio = 1.0;
  EXPECT_THROW(make_synthetic_scene(opt), Error);
}
