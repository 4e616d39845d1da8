// The ground-truth scenes made here (pipeline/gt_scene.h): the cameras written are the cameras rendered
// (a textured point projects, with distortion, where its texel shows), transforms.json reads back exactly.
#include "pipeline/gt_scene.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "io/transforms.h"
#include "temp_dir.h"

namespace vg::synth {
namespace {

// A 64 x 64 texture: black, with one white texel block at (40..43, 20..23).
Image marker_texture() {
  Image im;
  im.width = im.height = 64;
  im.channels = 3;
  im.pixels.assign(64 * 64 * 3, 0.0f);
  for (int y = 20; y < 24; ++y)
    for (int x = 40; x < 44; ++x)
      for (int c = 0; c < 3; ++c) im.at(y, x, c) = 1.0f;
  return im;
}

Eigen::Vector2d project(const View& v, const RenderSettings& r, const Eigen::Vector3d& X) {
  const Eigen::Vector3d p = v.cam_from_world.topLeftCorner<3, 3>() * X + v.cam_from_world.topRightCorner<3, 1>();
  const auto d = r.dist.distort(p.x() / p.z(), p.y() / p.z());
  return {r.K.fx * d[0] + r.K.cx, r.K.fy * d[1] + r.K.cy};
}

TEST(GtScene, TexturedPointRendersWhereTheCameraProjectsIt) {
  Scene s;
  s.textures.push_back(make_texture(marker_texture()));
  s.quads.push_back({{-4, -4, 3}, {8, 0, 0}, {0, 8, 0}, 0});  // an 8 x 8 plane at z = 3 filling the view
  View v;  // identity camera, looking along +z
  Eigen::AngleAxisd tilt(0.05, Eigen::Vector3d(0.3, 1, 0).normalized());
  v.cam_from_world.topLeftCorner<3, 3>() = tilt.toRotationMatrix();
  RenderSettings r;
  r.K = {90, 92, 61.3, 57.8, 120, 110};
  r.dist.k1 = -0.08;
  r.noise_sigma = 0;
  r.supersample = 3;
  const Image img = render(s, v, r, 1);
  // Expected intensity centroid: the texture (bilinear in its texels, as rendered) carried to the image by the
  // camera, weighted by the area the camera gives each texture element (|det| of the projection's Jacobian).
  const Image tex = marker_texture();
  auto texture = [&](double a, double b) {
    const double x = std::clamp(a * 64 - 0.5, 0.0, 63.0), y = std::clamp(b * 64 - 0.5, 0.0, 63.0);
    const int x0 = std::min(static_cast<int>(x), 62), y0 = std::min(static_cast<int>(y), 62);
    const double fx = x - x0, fy = y - y0;
    return (1 - fy) * ((1 - fx) * tex.at(y0, x0, 0) + fx * tex.at(y0, x0 + 1, 0)) +
           fy * ((1 - fx) * tex.at(y0 + 1, x0, 0) + fx * tex.at(y0 + 1, x0 + 1, 0));
  };
  auto point = [](double a, double b) -> Eigen::Vector3d {
    return Eigen::Vector3d(-4, -4, 3) + a * Eigen::Vector3d(8, 0, 0) + b * Eigen::Vector3d(0, 8, 0);
  };
  double ew = 0, ex = 0, ey = 0;
  const int n = 400;
  const double a0 = 38.0 / 64, b0 = 18.0 / 64, span = 8.0 / 64, h = span / n;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double a = a0 + (i + 0.5) * h, b = b0 + (j + 0.5) * h;
      const Eigen::Vector2d q = project(v, r, point(a, b));
      const Eigen::Vector2d da = (project(v, r, point(a + 1e-6, b)) - q) / 1e-6;
      const Eigen::Vector2d db = (project(v, r, point(a, b + 1e-6)) - q) / 1e-6;
      const double w = texture(a, b) * std::abs(da.x() * db.y() - da.y() * db.x());
      ew += w, ex += w * q.x(), ey += w * q.y();
    }
  double sw = 0, sx = 0, sy = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const double w = img.at(y, x, 0);
      sw += w, sx += w * (x + 0.5), sy += w * (y + 0.5);
    }
  ASSERT_GT(sw, 1.0);
  EXPECT_NEAR(sx / sw, ex / ew, 0.02);
  EXPECT_NEAR(sy / sw, ey / ew, 0.02);
  EXPECT_GT(std::abs(ey / ew - project(v, r, point(42.0 / 64, 22.0 / 64)).y()), 0.05);  // distortion matters here
}

TEST(GtScene, TransformsJsonReadsBackTheRenderedCameras) {
  std::vector<Image> photos(4, marker_texture());
  Preset p = make_preset("object-10", photos);
  p.views.resize(2);
  p.settings.K = {40, 40, 31.5, 23.0, 64, 48};  // small, fast
  test::TempDir dir("synthetic_scene");
  write_scene(dir.path, p);
  const auto frames = read_transforms(dir.path / "transforms.json");
  ASSERT_EQ(frames.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_LT((frames[i].camtoworld.inverse() - p.views[i].cam_from_world).norm(), 1e-9);
    EXPECT_DOUBLE_EQ(frames[i].K.cx, 31.5);
    EXPECT_DOUBLE_EQ(frames[i].dist.k1, -0.045);
    EXPECT_EQ(frames[i].K.width, 64);
  }
  EXPECT_THROW(make_preset("nope", photos), Error);
  EXPECT_THROW(make_preset("facade-15", std::vector<Image>(3, marker_texture())), Error);
}

}  // namespace
}  // namespace vg::synth
