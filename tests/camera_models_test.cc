// Camera models: parameter layouts, project/unproject round trips for every supported COLMAP model.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "geometry/camera_models.h"

namespace vg {
namespace {

ColmapCamera make_camera(const std::string& model) {
  ColmapCamera c;
  c.model = model;
  c.width = 1000;
  c.height = 800;
  if (model == "SIMPLE_PINHOLE") c.params = {900, 510, 395};
  if (model == "PINHOLE") c.params = {900, 880, 510, 395};
  if (model == "SIMPLE_RADIAL") c.params = {900, 510, 395, -0.08};
  if (model == "RADIAL") c.params = {900, 510, 395, -0.1, 0.03};
  if (model == "OPENCV") c.params = {900, 880, 510, 395, -0.1, 0.03, 0.001, -0.002};
  return c;
}

const char* kModels[] = {"SIMPLE_PINHOLE", "PINHOLE", "SIMPLE_RADIAL", "RADIAL", "OPENCV"};

TEST(CameraModels, RoundTripEveryModel) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-0.5, 0.5), z(1, 10);
  for (const char* m : kModels) {
    const ColmapCamera cam = make_camera(m);
    const int id = colmap_model_id(m);
    double max_err = 0;
    for (int i = 0; i < 500; ++i) {
      const double depth = z(rng);
      const Eigen::Vector3d p(u(rng) * depth, u(rng) * depth, depth);
      const Eigen::Vector2d px = camera_project(id, cam.params.data(), p);
      const Eigen::Vector2d xn = camera_unproject(cam, px);
      max_err = std::max(max_err, (xn - p.head<2>() / p(2)).norm());
      // And pixel -> normalised -> pixel.
      const Eigen::Vector2d px2 = camera_project(id, cam.params.data(), Eigen::Vector3d(xn(0), xn(1), 1.0));
      max_err = std::max(max_err, (px2 - px).norm() / 1000);
    }
    EXPECT_LT(max_err, 1e-10) << m;
  }
}

TEST(CameraModels, KnownValues) {
  const ColmapCamera c = make_camera("OPENCV");
  const double u = 0.2, v = -0.1, r2 = u * u + v * v, k1 = -0.1, k2 = 0.03, p1 = 0.001, p2 = -0.002;
  const double radial = k1 * r2 + k2 * r2 * r2;
  const double du = u * radial + 2 * p1 * u * v + p2 * (r2 + 2 * u * u);
  const double dv = v * radial + 2 * p2 * u * v + p1 * (r2 + 2 * v * v);
  const Eigen::Vector2d px = camera_project(4, c.params.data(), Eigen::Vector3d(2 * u, 2 * v, 2));
  EXPECT_NEAR(px(0), 900 * (u + du) + 510, 1e-12);
  EXPECT_NEAR(px(1), 880 * (v + dv) + 395, 1e-12);
  const ColmapCamera s = make_camera("SIMPLE_PINHOLE");
  const Eigen::Vector2d q = camera_project(0, s.params.data(), Eigen::Vector3d(1, 2, 4));
  EXPECT_NEAR(q(0), 900 * 0.25 + 510, 1e-12);
  EXPECT_NEAR(q(1), 900 * 0.5 + 395, 1e-12);
}

TEST(CameraModels, LayoutsAndDefaults) {
  EXPECT_EQ(camera_focal_idxs(0), std::vector<int>({0}));
  EXPECT_EQ(camera_focal_idxs(4), std::vector<int>({0, 1}));
  EXPECT_EQ(camera_pp_idxs(1), std::vector<int>({2, 3}));
  EXPECT_EQ(camera_pp_idxs(3), std::vector<int>({1, 2}));
  EXPECT_EQ(camera_extra_idxs(2), std::vector<int>({3}));
  EXPECT_EQ(camera_extra_idxs(4), std::vector<int>({4, 5, 6, 7}));
  EXPECT_TRUE(camera_extra_idxs(1).empty());
  const ColmapCamera d = default_camera("PINHOLE", 640, 480);
  EXPECT_EQ(d.params, std::vector<double>({768, 768, 320, 240}));
  const ColmapCamera o = default_camera("OPENCV", 300, 400, 1.0);
  EXPECT_EQ(o.params, std::vector<double>({400, 400, 150, 200, 0, 0, 0, 0}));
  EXPECT_NEAR(camera_image_to_world_threshold(make_camera("PINHOLE"), 4.0), 4.0 / 890, 1e-15);
  EXPECT_FALSE(camera_model_supported(5));
  EXPECT_THROW(default_camera("FISHEYE", 10, 10), Error);
  ColmapCamera bad = make_camera("PINHOLE");
  bad.params.pop_back();
  EXPECT_THROW(camera_unproject(bad, {0, 0}), Error);
}

}  // namespace
}  // namespace vg
