// SfM camera set-up: JPEGs written here with EXIF (make, model, focal length, 35 mm focal, focal-plane
// resolution) or none, of two sizes -> which images share a camera, the focal prior and its value, the
// fallback 1.2 * max(W, H) without EXIF, the per-image and single modes, and the CLI's one-line rejection
// of an unknown --camera-mode.
#include "pipeline/sfm_cameras.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "exif_jpeg.h"
#include "io/image.h"
#include "temp_dir.h"

namespace vg {
namespace {

namespace fs = std::filesystem;

test::ExifFields cam_a() {  // 35 mm equivalent focal only
  test::ExifFields f;
  f.make = "Canon", f.model = "EOS 5D", f.focal_35mm = 28;
  return f;
}
test::ExifFields cam_b() {  // focal length in mm + sensor width from the focal-plane resolution (cm)
  test::ExifFields f;
  f.make = "Sony", f.model = "ILCE-7", f.focal_mm_x100 = 5000, f.pixel_x = 6000, f.plane_x_res_x100 = 167131,
  f.plane_unit = 3;
  return f;
}
const double kFocalB64 = 50.0 / (6000.0 / 1671.31 * 10.0) * 64;  // f_mm / sensor_mm * max(W, H)

// The set-up of the JPEGs in `dir` as the SfM stage builds it (size from the header, EXIF from the file).
CameraSetup setup_of(const fs::path& dir, const std::vector<std::string>& names, CameraMode mode,
                     const std::string& model = "") {
  std::vector<CameraImageInfo> info;
  for (const std::string& n : names) {
    const ImageInfo ii = read_image_info(dir / n);
    info.push_back({n, ii.width, ii.height, read_exif(dir / n)});
  }
  return make_camera_setup(info, mode, model);
}

class SfmCameras : public ::testing::Test {
 protected:
  void SetUp() override {
    using test::write_jpeg_with_exif;
    write_jpeg_with_exif(dir.path / "a1.jpg", 64, 48, cam_a());
    write_jpeg_with_exif(dir.path / "a2.jpg", 64, 48, cam_a());
    write_jpeg_with_exif(dir.path / "b1.jpg", 64, 48, cam_b());
    write_jpeg_with_exif(dir.path / "n1.jpg", 64, 48, {});
    write_jpeg_with_exif(dir.path / "n2.jpg", 64, 48, {});
    write_jpeg_with_exif(dir.path / "s1.jpg", 32, 48, {});        // another size, no EXIF
    write_jpeg_with_exif(dir.path / "s2.jpg", 32, 48, cam_a());   // camera A at another size
  }
  test::TempDir dir{"sfm_cameras_test"};
};

TEST(SfmCameraMode, ParsesAndRejects) {
  EXPECT_EQ(parse_camera_mode("auto"), CameraMode::Auto);
  EXPECT_EQ(parse_camera_mode("per-image"), CameraMode::PerImage);
  EXPECT_EQ(parse_camera_mode("single"), CameraMode::Single);
  for (CameraMode m : {CameraMode::Auto, CameraMode::PerImage, CameraMode::Single})
    EXPECT_EQ(parse_camera_mode(camera_mode_name(m)), m);
  const std::string e = test::error_of([] { parse_camera_mode("shared"); });
  EXPECT_EQ(e, "unknown --camera-mode 'shared' (auto, per-image or single)");
  EXPECT_EQ(default_camera_model(CameraMode::Auto), "SIMPLE_RADIAL");
  EXPECT_EQ(default_camera_model(CameraMode::Single), "SIMPLE_RADIAL");
  EXPECT_EQ(default_camera_model(CameraMode::PerImage), "PINHOLE");
}

TEST_F(SfmCameras, AutoGroupsBySizeAndExifCamera) {
  const CameraSetup s = setup_of(dir.path, {"a1.jpg", "b1.jpg", "a2.jpg", "n1.jpg", "s1.jpg", "n2.jpg", "s2.jpg"},
                                 CameraMode::Auto);
  EXPECT_EQ(s.model, "SIMPLE_RADIAL");
  ASSERT_EQ(s.groups.size(), 5u);
  EXPECT_EQ(s.group_of_image, (std::vector<int>{0, 1, 0, 2, 3, 2, 4}));
  // Two images of camera A at 64x48 share one camera; its focal from the 35 mm equivalent: 28 / 35 * 64.
  const CameraGroup& a = s.groups[0];
  EXPECT_EQ(a.image_names, (std::vector<std::string>{"a1.jpg", "a2.jpg"}));
  EXPECT_EQ(a.camera.id, 1u);
  EXPECT_EQ(a.camera.model, "SIMPLE_RADIAL");
  EXPECT_EQ(a.camera.width, 64);
  EXPECT_EQ(a.camera.height, 48);
  ASSERT_EQ(a.camera.params.size(), 4u);  // f, cx, cy, k
  EXPECT_NEAR(a.camera.params[0], 28.0 / 35.0 * 64, 1e-9);
  EXPECT_DOUBLE_EQ(a.camera.params[1], 32);
  EXPECT_DOUBLE_EQ(a.camera.params[2], 24);
  EXPECT_DOUBLE_EQ(a.camera.params[3], 0);
  EXPECT_TRUE(a.prior_focal);
  EXPECT_EQ(a.focal_source, "exif35");
  EXPECT_EQ(a.exif_camera, "Canon|EOS 5D|28 mm (35 mm equiv.)");
  // Camera B (another EXIF model, same size): its own camera, focal from mm and the sensor width.
  const CameraGroup& b = s.groups[1];
  EXPECT_EQ(b.image_names, (std::vector<std::string>{"b1.jpg"}));
  EXPECT_NEAR(b.camera.params[0], kFocalB64, 1e-6);
  EXPECT_TRUE(b.prior_focal);
  EXPECT_EQ(b.focal_source, "exif");
  // No EXIF: one camera per size, focal 1.2 * max(W, H), no prior.
  const CameraGroup& n = s.groups[2];
  EXPECT_EQ(n.image_names, (std::vector<std::string>{"n1.jpg", "n2.jpg"}));
  EXPECT_DOUBLE_EQ(n.camera.params[0], 1.2 * 64);
  EXPECT_FALSE(n.prior_focal);
  EXPECT_EQ(n.focal_source, "default");
  EXPECT_EQ(n.exif_camera, "");
  const CameraGroup& small = s.groups[3];  // mixed sizes: 32x48 without EXIF
  EXPECT_EQ(small.image_names, (std::vector<std::string>{"s1.jpg"}));
  EXPECT_EQ(small.camera.width, 32);
  EXPECT_DOUBLE_EQ(small.camera.params[0], 1.2 * 48);
  EXPECT_DOUBLE_EQ(small.camera.params[1], 16);
  EXPECT_FALSE(small.prior_focal);
  const CameraGroup& a_small = s.groups[4];  // camera A at another size: a camera of its own
  EXPECT_EQ(a_small.image_names, (std::vector<std::string>{"s2.jpg"}));
  EXPECT_NEAR(a_small.camera.params[0], 28.0 / 35.0 * 48, 1e-9);
  EXPECT_TRUE(a_small.prior_focal);
}

TEST_F(SfmCameras, PerImageKeepsOnePinholeEachWithTheExifPrior) {
  const CameraSetup s = setup_of(dir.path, {"a1.jpg", "a2.jpg", "n1.jpg", "s1.jpg"}, CameraMode::PerImage);
  EXPECT_EQ(s.model, "PINHOLE");
  ASSERT_EQ(s.groups.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(s.groups[i].camera.id, i + 1);
    EXPECT_EQ(s.groups[i].images, (std::vector<int>{static_cast<int>(i)}));
    ASSERT_EQ(s.groups[i].camera.params.size(), 4u);  // fx fy cx cy
  }
  EXPECT_NEAR(s.groups[1].camera.params[0], 28.0 / 35.0 * 64, 1e-9);
  EXPECT_NEAR(s.groups[1].camera.params[1], 28.0 / 35.0 * 64, 1e-9);
  EXPECT_TRUE(s.groups[1].prior_focal);
  EXPECT_DOUBLE_EQ(s.groups[2].camera.params[0], 76.8);
  EXPECT_FALSE(s.groups[2].prior_focal);
  EXPECT_DOUBLE_EQ(s.groups[3].camera.params[0], 57.6);
}

TEST_F(SfmCameras, SingleSharesOneCameraOfOneSize) {
  const CameraSetup s = setup_of(dir.path, {"b1.jpg", "a1.jpg", "n1.jpg"}, CameraMode::Single);
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.group_of_image, (std::vector<int>{0, 0, 0}));
  EXPECT_NEAR(s.groups[0].camera.params[0], kFocalB64, 1e-6);  // the first image's EXIF focal
  EXPECT_TRUE(s.groups[0].prior_focal);
  const std::string e = test::error_of([&] { setup_of(dir.path, {"n1.jpg", "s1.jpg"}, CameraMode::Single); });
  EXPECT_EQ(e, "--camera-mode single needs images of one size: n1.jpg is 64x48, s1.jpg is 32x48 (use --camera-mode "
               "auto)");
}

TEST_F(SfmCameras, CameraModelOverride) {
  const CameraSetup s = setup_of(dir.path, {"a1.jpg", "a2.jpg"}, CameraMode::Auto, "OPENCV");
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].camera.model, "OPENCV");
  ASSERT_EQ(s.groups[0].camera.params.size(), 8u);
  EXPECT_NEAR(s.groups[0].camera.params[0], 51.2, 1e-9);
  EXPECT_NEAR(s.groups[0].camera.params[1], 51.2, 1e-9);
  EXPECT_FALSE(test::error_of([&] { setup_of(dir.path, {"a1.jpg"}, CameraMode::Auto, "FISHEYE"); }).empty());
}

#ifdef VGSPLAT_EXE
// `vgsplat sfm --camera-mode X` with an unknown X: one line on stderr, exit status 1, before any work.
TEST(SfmCameraModeCli, UnknownModeIsOneLine) {
  test::TempDir d("sfm_cameras_cli");
  const std::string cmd = std::string("'") + VGSPLAT_EXE + "' sfm '" + d.path.string() +
                          "' --camera-mode shared 2>&1; echo \"rc=$?\"";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 256> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  ::pclose(p);
  EXPECT_EQ(out, "vgsplat: error: unknown --camera-mode 'shared' (auto, per-image or single)\nrc=1\n");
}
#endif

}  // namespace
}  // namespace vg
