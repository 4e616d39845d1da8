// SfM stage: bad input (too few, unreadable, blank images) gives a clear vg::Error or a partial
// result, never a crash; a small real run writes a readable model; model statistics; Strecha GT.
#include "pipeline/sfm_pipeline.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <random>

#include "core/error.h"
#include "exif_jpeg.h"
#include "io/dataset.h"
#include "io/image.h"
#include "io/strecha.h"
#include "pipeline/results.h"
#include "pipeline/runner_stages.h"
#include "test_util.h"

namespace vg {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_sfm_pipeline_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write_black_png(const fs::path& p, int w, int h) {
  fs::create_directories(p.parent_path());
  Image img;
  img.width = w, img.height = h, img.channels = 3;
  img.pixels.assign(static_cast<size_t>(w) * h * 3, 0.0f);
  write_png(p, img);
}

SfmOptions quiet_options() {
  SfmOptions o;
  o.device = "cpu";
  o.progress = false;
  return o;
}

// Runs run_sfm expecting a vg::Error whose message holds `needle`.
void expect_error(const fs::path& images, const fs::path& out, const std::string& needle) {
  try {
    run_sfm(images, out, quiet_options());
    FAIL() << "expected a vg::Error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out / "sparse"));
}

TEST(SfmPipeline, TooFewImages) {
  const fs::path d = temp_dir("few");
  fs::create_directories(d / "none");
  expect_error(d / "none", d / "out", "at least 2 images, found 0");
  write_black_png(d / "one" / "a.png", 32, 32);
  expect_error(d / "one", d / "out", "at least 2 images, found 1");
  expect_error(d / "missing", d / "out", "does not exist");
  fs::remove_all(d);
}

TEST(SfmPipeline, UnreadableFiles) {
  const fs::path d = temp_dir("unreadable");
  fs::create_directories(d / "images");
  for (const char* n : {"a.jpg", "b.png", "c.txt"}) std::ofstream(d / "images" / n) << "garbage bytes, not an image";
  expect_error(d / "images", d / "out", "only 0 of 3");
  fs::remove_all(d);
}

TEST(SfmPipeline, AllBlackImages) {
  const fs::path d = temp_dir("black");
  for (int i = 0; i < 3; ++i) write_black_png(d / "images" / ("img" + std::to_string(i) + ".png"), 96, 64);
  expect_error(d / "images", d / "out", "SIFT features");
  fs::remove_all(d);
}

// Two photos of unrelated content (independent blob noise): features, but no verified pair.
TEST(SfmPipeline, ImagesWithoutOverlap) {
  const fs::path d = temp_dir("nooverlap");
  for (int k = 0; k < 2; ++k) {
    std::mt19937 rng(100 + k);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    Image img;
    img.width = 320, img.height = 240, img.channels = 3;
    img.pixels.assign(static_cast<size_t>(img.width) * img.height * 3, 0.5f);
    for (int b = 0; b < 150; ++b) {  // random soft blobs: plenty of DoG extrema
      const float cx = u(rng) * img.width, cy = u(rng) * img.height, r = 3 + 10 * u(rng), v = u(rng);
      for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x) {
          const float w = std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * r * r));
          for (int c = 0; c < 3; ++c) {
            float& p = img.pixels[(static_cast<size_t>(y) * img.width + x) * 3 + c];
            p = p * (1 - w) + v * w;
          }
        }
    }
    fs::create_directories(d / "images");
    write_png(d / "images" / ("view" + std::to_string(k) + ".png"), img);
  }
  expect_error(d / "images", d / "out", "do the images overlap?");
  fs::remove_all(d);
}

TEST(SfmPipeline, ImagesDirOfScene) {
  const fs::path d = temp_dir("scene");
  fs::create_directories(d / "flat");
  EXPECT_EQ(sfm_images_dir(d / "flat"), d / "flat");
  fs::create_directories(d / "nested" / "images");
  EXPECT_EQ(sfm_images_dir(d / "nested"), d / "nested" / "images");
  EXPECT_THROW(sfm_images_dir(d / "missing"), Error);
  EXPECT_EQ(parse_matcher("sequential"), SfmOptions::Matcher::Sequential);
  EXPECT_THROW(parse_matcher("vocab_tree"), Error);
  fs::remove_all(d);
}

TEST(SfmPipeline, ModelStatsReprojection) {
  ColmapModel m;
  m.cameras[1] = {1, "PINHOLE", 100, 80, {50, 60, 50, 40}};
  ColmapPoint3D p;
  p.id = 7;
  p.xyz = {0.2, -0.1, 2.0};
  p.track = {{1, 0}, {2, 0}};
  m.points[7] = p;
  ColmapImage a;
  a.id = 1, a.camera_id = 1, a.name = "a.png";
  a.xys = {50 + 50 * 0.1, 40 + 60 * -0.05};  // exact projection
  a.point3D_ids = {7};
  ColmapImage b = a;
  b.id = 2, b.name = "b.png";
  b.xys = {a.xys[0] + 3, a.xys[1] + 4};  // 5 px off
  m.images[1] = a;
  m.images[2] = b;
  const ModelStats s = model_stats(m);
  EXPECT_EQ(s.registered, 2);
  EXPECT_EQ(s.cameras, 1);
  EXPECT_EQ(s.points3D, 1);
  EXPECT_EQ(s.observations, 2);
  EXPECT_NEAR(s.mean_track_length, 2.0, 1e-12);
  EXPECT_NEAR(s.mean_reprojection_error, 2.5, 1e-9);
}

// Six fox photos (small SIFT) plus an unreadable file and a black image, through the runner's sfm
// stage: a partial result naming what was skipped, a model COLMAP and `vgsplat train` can read
// (images/ linked beside sparse/0), a coloured points.ply, the run marked partial in analysis.json.
TEST(SfmPipeline, SmallRealSceneWithBadFilesThroughRunner) {
  const fs::path fox = test::data_dir() / "fox" / "images";
  if (!fs::is_directory(fox)) GTEST_SKIP() << "no " << fox;
  const fs::path d = temp_dir("fox");
  fs::create_directories(d / "fox_standard" / "images");
  std::vector<fs::path> photos;
  for (const auto& e : fs::directory_iterator(fox)) photos.push_back(e.path());
  std::sort(photos.begin(), photos.end());
  ASSERT_GE(photos.size(), 6u);
  for (int i = 0; i < 6; ++i) fs::create_symlink(photos[i], d / "fox_standard" / "images" / photos[i].filename());
  std::ofstream(d / "fox_standard" / "images" / "zz_broken.jpg") << "\xff\xd8\xff truncated";
  write_black_png(d / "fox_standard" / "images" / "zz_black.png", 270, 480);

  SfmOptions o = quiet_options();
  o.sift.max_image_size = 540;
  o.sift.max_num_features = 2048;
  o.write_txt = true;
  RunOptions ro;
  ro.results_root = d / "results";
  ro.device = "cpu";
  const RunReport r = run_pipeline(Pipeline{"P1", {sfm_stage(o)}}, d / "fox_standard", ro);
  const nlohmann::json& s = r.analysis.at("sfm");
  EXPECT_EQ(s["images"], 8);
  EXPECT_EQ(s["images_used"], 6);
  EXPECT_EQ(s["skipped"].size(), 2u);
  EXPECT_EQ(s["registered_images"], 6) << s["message"];
  // --camera-mode auto (the default): the six 540x960 photos have no EXIF and one size, so one SIMPLE_RADIAL
  // camera, focal from 1.2 * 960, no prior; the two bad files are not in the set-up.
  EXPECT_EQ(s["cameras"], 1);
  const nlohmann::json& cs = s.at("camera_setup");
  EXPECT_EQ(cs["mode"], "auto");
  EXPECT_EQ(cs["model"], "SIMPLE_RADIAL");
  ASSERT_EQ(cs["groups"].size(), 1u);
  EXPECT_EQ(cs["groups"][0]["images"].size(), 6u);
  EXPECT_FALSE(cs["groups"][0]["prior_focal_length"].get<bool>());
  EXPECT_EQ(cs["groups"][0]["focal_source"], "default");
  EXPECT_DOUBLE_EQ(cs["groups"][0]["params_initial"][0].get<double>(), 1.2 * 960);
  EXPECT_TRUE(s["partial"].get<bool>());
  EXPECT_NE(s["message"].get<std::string>().find("only 6 of 8 images registered; largest model written"),
            std::string::npos) << s["message"];
  EXPECT_TRUE(r.analysis["partial"].get<bool>());
  EXPECT_GT(s["points3D"].get<int>(), 100);
  EXPECT_GT(s["mean_track_length"].get<double>(), 2.0);
  EXPECT_LT(s["mean_reprojection_error"].get<double>(), 2.0);
  for (const char* f : {"sparse/0/cameras.bin", "sparse/0/images.bin", "sparse/0/points3D.bin", "sparse/0/cameras.txt",
                        "points.ply", "images/0001.jpg", "metadata.json", "analysis.json"})
    EXPECT_TRUE(fs::exists(r.result_dir / f)) << f;
  EXPECT_EQ(r.result_dir.filename().string().rfind("P1_fox_", 0), 0u) << r.result_dir;
  const ColmapModel m = read_colmap_model(r.result_dir / "sparse" / "0");
  EXPECT_EQ(m.images.size(), 6u);
  EXPECT_EQ(static_cast<int>(m.points.size()), s["points3D"].get<int>());
  for (const auto& [id, im] : m.images) EXPECT_EQ(im.name, photos[id - 1].filename().string());
  // The training loader undistorts the SIMPLE_RADIAL camera to PINHOLE (gsplat's COLMAP parser): one map for the
  // shared camera, every view loads at its undistorted camera's size.
  ASSERT_EQ(m.cameras.size(), 1u);
  EXPECT_EQ(m.cameras.begin()->second.model, "SIMPLE_RADIAL");
  EXPECT_NE(m.cameras.begin()->second.params[3], 0.0);  // k1 refined by bundle adjustment
  DatasetOptions dopt;
  dopt.dir = r.result_dir;
  dopt.data_factor = 4;
  const Dataset ds = load_dataset(dopt);
  ASSERT_EQ(ds.undistorters.size(), 1u);
  ASSERT_EQ(ds.train.size() + ds.test.size(), 6u);
  for (const std::vector<View>* split : {&ds.train, &ds.test})
    for (const View& v : *split) {
      EXPECT_EQ(v.undistorter, 0) << v.name;
      const Tensor img = ds.load_image(v);
      EXPECT_EQ(img.size(0), v.camera.height) << v.name;
      EXPECT_EQ(img.size(1), v.camera.width) << v.name;
    }
  std::printf("fox x6: %d points, track %.2f, reproj %.3f px, %.2f s\n", s["points3D"].get<int>(),
              s["mean_track_length"].get<double>(), s["mean_reprojection_error"].get<double>(),
              s["seconds"].get<double>());
  fs::remove_all(d);
}

// Six fox photos (every 4th) given EXIF here (two cameras, 35 mm focal / focal length + sensor width, both near the true
// 687.8 px): --camera-mode auto makes two cameras with EXIF focal priors, and the mapper registers every image.
TEST(SfmPipeline, ExifCamerasThroughTheStage) {
  const fs::path fox = test::data_dir() / "fox" / "images";
  if (!fs::is_directory(fox)) GTEST_SKIP() << "no " << fox;
  const fs::path d = temp_dir("exif");
  fs::create_directories(d / "images");
  std::vector<fs::path> photos;
  for (const auto& e : fs::directory_iterator(fox)) photos.push_back(e.path());
  std::sort(photos.begin(), photos.end());
  ASSERT_GE(photos.size(), 21u);
  test::ExifFields a, b;
  a.make = "Apple", a.model = "iPhone", a.focal_35mm = 25;  // 25 / 35 * 960 = 685.7 px
  b.make = "Google", b.model = "Pixel", b.focal_mm_x100 = 425, b.pixel_x = 4032, b.plane_x_res_x100 = 679703,
  b.plane_unit = 3;  // 4.25 mm / 5.932 mm * 960 = 687.8 px
  for (int i = 0; i < 6; ++i) {  // every 4th photo: consecutive ones are too close for an initial pair at 2 deg
    const fs::path& p = photos[static_cast<size_t>(4 * i)];
    fs::copy_file(p, d / "images" / p.filename(), fs::copy_options::none);
    test::add_exif(d / "images" / p.filename(), i < 3 ? a : b);
  }
  SfmOptions o = quiet_options();
  o.sift.max_image_size = 540;
  o.sift.max_num_features = 2048;
  const SfmStats s = run_sfm(d / "images", d, o);
  EXPECT_EQ(s.camera_mode, "auto");
  ASSERT_EQ(s.camera_setup.groups.size(), 2u);
  for (int g = 0; g < 2; ++g) {
    const CameraGroup& cg = s.camera_setup.groups[g];
    EXPECT_EQ(cg.images, (std::vector<int>{3 * g, 3 * g + 1, 3 * g + 2}));
    EXPECT_TRUE(cg.prior_focal);
    EXPECT_EQ(cg.focal_source, g == 0 ? "exif35" : "exif");
    EXPECT_NEAR(cg.camera.params[0], g == 0 ? 25.0 / 35 * 960 : 4.25 / (4032 / 6797.03 * 10) * 960, 1e-6);
  }
  EXPECT_EQ(s.registered, 6) << s.message;
  EXPECT_EQ(s.cameras, 2);
  for (const auto& [id, c] : s.final_cameras) EXPECT_NEAR(c.params[0], 687.8, 0.1 * 687.8) << id;
  fs::remove_all(d);
}

TEST(Strecha, ReadsGroundTruthCameras) {
  const fs::path dir = test::data_dir() / "strecha" / "fountain-P11" / "gt_dense_cameras";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no " << dir;
  const auto cams = read_strecha_cameras(dir);
  ASSERT_EQ(cams.size(), 11u);
  const StrechaCamera& c = cams.at("0000.jpg");
  EXPECT_NEAR(c.K(0, 0), 1379.74, 1e-9);
  EXPECT_NEAR(c.K(1, 2), 503.405, 1e-9);
  EXPECT_EQ(c.width, 1536);
  EXPECT_EQ(c.height, 1024);
  EXPECT_NEAR(c.center.x(), -7.28137, 1e-9);
  const Eigen::Matrix4d T = c.cam_from_world();
  EXPECT_NEAR((T * c.center.homogeneous()).head<3>().norm(), 0.0, 1e-9);  // the centre maps to the origin
  EXPECT_NEAR((T.topLeftCorner<3, 3>() * c.R - Eigen::Matrix3d::Identity()).norm(), 0.0, 1e-5);
}

TEST(Strecha, BadFile) {
  const fs::path d = temp_dir("strecha");
  std::ofstream(d / "a.jpg.camera") << "1 0 0\n0 1 0\n0 0 1\n0 0 0\n";
  EXPECT_THROW(read_strecha_camera(d / "a.jpg.camera"), Error);
  EXPECT_THROW(read_strecha_cameras(d / "missing"), Error);
  fs::remove_all(d);
}

}  // namespace
}  // namespace vg
