// load_and_preprocess_images_square (official vggt/utils/load_fn.py) + the 518 resize of demo_colmap.py.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"
#include "vggt/preprocess.h"

namespace vg::vggt {
namespace {

TEST(VggtPreprocess, KitchenPhotoSizesAndCoords) {
  const auto photo = test::data_dir() / "vggsfm" / "kitchen" / "images" / "00.png";  // JPEG bytes, 800x534
  if (!std::filesystem::exists(photo)) GTEST_SKIP() << "no " << photo;
  PreprocessedImages p = load_and_preprocess_square({photo, photo});
  EXPECT_EQ(p.images_load.shape(), (Shape{2, 3, 1024, 1024}));
  EXPECT_EQ(p.images_model.shape(), (Shape{2, 3, 518, 518}));
  EXPECT_EQ(p.original_coords.shape(), (Shape{2, 6}));
  // max_dim 800, top = (800 - 534) // 2 = 133, scale 1024 / 800 = 1.28.
  const std::vector<float> c = p.original_coords.to_vector<float>();
  const std::vector<float> want = {0.0f, 133 * 1.28f, 1024.0f, 667 * 1.28f, 800.0f, 534.0f};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(c[i], want[i], 1e-3) << i;
  // Black padding above and below the photo, content inside; values are 8-bit levels.
  const float* im = p.images_load.data<float>();
  EXPECT_EQ(im[100 * 1024 + 500], 0.0f);
  EXPECT_EQ(im[900 * 1024 + 500], 0.0f);
  float mean = 0;
  for (int x = 0; x < 1024; ++x) mean += im[512 * 1024 + x];
  EXPECT_GT(mean / 1024, 0.05f);
  const float v = im[512 * 1024 + 300] * 255.0f;
  EXPECT_NEAR(v, std::round(v), 1e-3);
}

TEST(VggtPreprocess, PilBicubicKeepsConstantsAndRounds) {
  std::vector<uint8_t> flat(37 * 23 * 3, 200);
  for (uint8_t v : pil_resize_bicubic(flat, 37, 23, 3, 16, 11)) EXPECT_EQ(v, 200);
  for (uint8_t v : pil_resize_bicubic(flat, 37, 23, 3, 80, 50)) EXPECT_EQ(v, 200);
  // A step edge overshoots under Keys' cubic (a = -0.5) and is clipped to [0, 255].
  std::vector<uint8_t> step(8 * 1 * 1);
  for (int x = 4; x < 8; ++x) step[x] = 255;
  std::vector<uint8_t> up = pil_resize_bicubic(step, 8, 1, 1, 32, 1);
  EXPECT_EQ(up.front(), 0);
  EXPECT_EQ(up.back(), 255);
  for (int x = 1; x < 32; ++x) EXPECT_GE(up[x] + 40, up[x - 1]);  // no wild ringing
}

}  // namespace
}  // namespace vg::vggt
