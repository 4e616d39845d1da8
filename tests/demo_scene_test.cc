#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "io/dataset.h"
#include "pipeline/demo_raytrace.h"
#include "pipeline/demo_scene.h"

namespace vg {
namespace {

TEST(DemoScene, RaysHitTheObjects) {
  // Straight down onto the sphere top (centre (-0.4,-0.25,0.4), r 0.4): red or yellow, lit from above.
  auto c = demo::trace_ray({-0.4, -0.25, 3.0}, {0, 0, -1});
  EXPECT_GT(c[0], 0.5f);
  EXPECT_LT(c[2], 0.3f);
  // Upwards: nothing.
  auto sky = demo::trace_ray({0, 0, 1}, {0, 0, 1});
  EXPECT_EQ(sky, (std::array<float, 3>{0, 0, 0}));
  // Onto the ground far from the objects: a grey/blue checker, not black.
  auto g = demo::trace_ray({-0.9, 0.7, 2.0}, {0, 0, -1});
  EXPECT_GT(g[0] + g[1] + g[2], 0.2f);
}

TEST(DemoScene, CamerasLookAtTheSceneCentre) {
  demo::SceneOptions o;
  auto cams = demo::train_cameras(o);
  ASSERT_EQ(cams.size(), 24u);
  for (const Camera& c : cams) {
    const auto& m = c.viewmat;
    // Look-at point (0,0,0.25) projects to the principal point.
    double x = m[2] * 0.25 + m[3], y = m[6] * 0.25 + m[7], z = m[10] * 0.25 + m[11];
    EXPECT_NEAR(c.fx * x / z + c.cx, 64.0, 1e-3);
    EXPECT_NEAR(c.fy * y / z + c.cy, 64.0, 1e-3);
    EXPECT_NEAR(z, 4.0, 1e-4);
    auto p = c.position();
    EXPECT_NEAR(std::hypot(p[0], p[1], p[2] - 0.25), 4.0, 1e-4);
    EXPECT_GT(p[2], 0.25f);  // above the ground
  }
}

TEST(DemoScene, WritesADatasetTheLoaderReads) {
  fs::path dir = fs::temp_directory_path() / ("vgsplat_demo_scene_" + std::to_string(getpid()));
  fs::remove_all(dir);
  demo::SceneOptions o;
  o.width = o.height = 32;
  o.n_train = 3;
  o.n_test = 2;
  demo::write_scene(dir, o);
  EXPECT_TRUE(fs::exists(dir / "images" / "train_002.png"));
  EXPECT_TRUE(fs::exists(dir / "images" / "test_001.png"));
  auto j = nlohmann::json::parse(read_file(dir / "transforms_train.json"));
  EXPECT_EQ(j["frames"].size(), 3u);

  DatasetOptions opt;
  opt.dir = dir;
  Dataset d = load_dataset(opt);
  ASSERT_EQ(d.train.size(), 3u);
  ASSERT_EQ(d.test.size(), 2u);
  auto cams = demo::train_cameras(o);
  for (size_t i = 0; i < 3; ++i) {
    const Camera& a = d.train[i].camera;
    // The loader may normalise the world; compare what is invariant: intrinsics and the image.
    EXPECT_NEAR(a.fx, cams[i].fx, 1e-3);
    EXPECT_NEAR(a.cx, cams[i].cx, 1e-3);
    EXPECT_EQ(a.width, 32);
  }
  Tensor img = d.load_image(d.train[0]);
  EXPECT_EQ(img.shape(), (Shape{32, 32, 3}));
  Image ref = demo::render_view(cams[0], o.supersample);
  auto px = img.to_vector<float>();
  double max_err = 0;
  for (size_t i = 0; i < px.size(); ++i) max_err = std::max(max_err, std::abs(double(px[i]) - ref.pixels[i]));
  EXPECT_LT(max_err, 1.0 / 255 + 1e-6);  // 8-bit PNG round trip
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vg
