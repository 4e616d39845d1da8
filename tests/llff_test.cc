// LLFF scenes (poses_bounds.npy + images/): a synthetic scene checked exactly, the error messages, and
// the real fern scene (../shared/data/fern or $VGSPLAT_DATA/fern) through the normal dataset API.
#include <gtest/gtest.h>

#include <Eigen/Geometry>
#include <Eigen/LU>
#include <unistd.h>

#include "core/error.h"
#include "core/fs.h"
#include "io/dataset.h"
#include "io/dataset_sources.h"
#include "io/image.h"
#include "io/npy.h"
#include "splat/init.h"
#include "test_util.h"

using namespace vg;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_llff_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d / "images");
  return d;
}

constexpr double kH = 60, kW = 80, kF = 50;  // full-size photos; the files on disk are half that

// OpenCV camera-to-world of view i: a small rotation and an offset.
Eigen::Matrix4d opencv_c2w(int i) {
  Eigen::Matrix4d T = Eigen::Matrix4d::Identity();
  T.block<3, 3>(0, 0) = Eigen::AngleAxisd(0.1 * (i + 1), Eigen::Vector3d(1, 2, 3).normalized()).toRotationMatrix();
  T.block<3, 1>(0, 3) = Eigen::Vector3d(0.5 * i, -0.25 * i, 1 + i);
  return T;
}

// One poses_bounds row: LLFF's R columns are (down, right, back) = (y, x, -z) of the OpenCV camera.
std::vector<double> llff_row(const Eigen::Matrix4d& c2w, double H, double W, double f) {
  const double hwf[3] = {H, W, f};
  std::vector<double> row;
  for (int r = 0; r < 3; ++r)
    for (double v : {c2w(r, 1), c2w(r, 0), -c2w(r, 2), c2w(r, 3), hwf[r]}) row.push_back(v);
  row.push_back(2), row.push_back(20);  // near, far
  return row;
}

// Three 40x30 PNGs named out of creation order, a stray text file, and their poses (rows in name order).
fs::path write_scene(const std::string& name, int rows = 3, int width = 40, int height = 30) {
  const fs::path dir = temp_dir(name);
  const Image img{width, height, 3, std::vector<float>(static_cast<size_t>(width * height * 3), 0.25f)};
  for (const char* f : {"c.png", "a.png", "b.png"}) write_png(dir / "images" / f, img);
  write_file_atomic(dir / "images" / "notes.txt", "not an image");
  std::vector<double> data;
  for (int i = 0; i < rows; ++i)
    for (double v : llff_row(opencv_c2w(i), kH, kW, kF)) data.push_back(v);
  write_file_atomic(dir / "poses_bounds.npy", npy_bytes({rows, 17}, data));
  return dir;
}

std::string error_of(const fs::path& dir) {
  try {
    detail::read_scene(dir);
  } catch (const vg::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Llff, SyntheticSceneIsExact) {
  const fs::path dir = write_scene("exact");
  const detail::RawScene s = detail::read_scene(dir);
  EXPECT_EQ(s.source, "llff");
  EXPECT_EQ(s.cameras_file, dir / "poses_bounds.npy");
  EXPECT_TRUE(s.points.empty());
  ASSERT_EQ(s.views.size(), 3u);
  const char* names[3] = {"a.png", "b.png", "c.png"};
  for (int i = 0; i < 3; ++i) {
    const detail::RawView& v = s.views[i];
    EXPECT_EQ(v.name, names[i]);
    EXPECT_EQ(v.image_path, dir / "images" / names[i]);
    EXPECT_EQ((v.camtoworld - opencv_c2w(i)).cwiseAbs().maxCoeff(), 0.0) << v.camtoworld;
    EXPECT_EQ(v.K.width, 40);
    EXPECT_EQ(v.K.height, 30);
    EXPECT_EQ(v.K.fx, 25.0);  // f * 40 / 80
    EXPECT_EQ(v.K.fy, 25.0);
    EXPECT_EQ(v.K.cx, 20.0);
    EXPECT_EQ(v.K.cy, 15.0);
    EXPECT_FALSE(v.dist.any());
    EXPECT_EQ(v.camera, 0);
  }
  fs::remove_all(dir);
}

TEST(Llff, LoadsThroughTheDatasetApi) {
  const fs::path dir = write_scene("dataset");
  DatasetOptions opt;
  opt.dir = dir, opt.data_factor = 2, opt.normalize = false, opt.test_every = 3;
  const Dataset ds = load_dataset(opt);
  EXPECT_EQ(ds.source, "llff");
  EXPECT_TRUE(ds.points.empty());
  ASSERT_EQ(ds.train.size(), 2u);
  ASSERT_EQ(ds.test.size(), 1u);
  EXPECT_EQ(ds.test[0].name, "a.png");
  const View& b = ds.train[0];
  EXPECT_EQ(b.name, "b.png");
  EXPECT_EQ(b.camera.width, 20);
  EXPECT_EQ(b.camera.height, 15);
  EXPECT_FLOAT_EQ(b.camera.fx, 12.5f);
  EXPECT_FLOAT_EQ(b.camera.cx, 10.0f);
  EXPECT_FLOAT_EQ(b.camera.cy, 7.5f);
  const Eigen::Matrix4d w2c = opencv_c2w(1).inverse();
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(b.camera.viewmat[4 * r + c], w2c(r, c), 1e-6);
  EXPECT_EQ(ds.load_image(b).shape(), (Shape{15, 20, 3}));

  // No sparse points: the default --init-type sfm says what to use instead.
  std::mt19937_64 rng(1);
  try {
    init_from_config(TrainConfig(), ds, ds.scene_scale, rng);
    ADD_FAILURE() << "sfm init without points did not throw";
  } catch (const vg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--init-type random"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Llff, ErrorsNameTheFileAndTheCounts) {
  fs::path dir = write_scene("count", 4);
  std::string m = error_of(dir);
  EXPECT_NE(m.find("poses_bounds.npy has 4 poses but"), std::string::npos) << m;
  EXPECT_NE(m.find("has 3 images"), std::string::npos) << m;
  fs::remove_all(dir);

  dir = write_scene("aspect", 3, 40, 40);
  m = error_of(dir);
  EXPECT_NE(m.find("aspect ratios differ"), std::string::npos) << m;
  fs::remove_all(dir);

  dir = write_scene("shape");
  write_file_atomic(dir / "poses_bounds.npy", npy_bytes({3, 15}, std::vector<double>(45, 1.0)));
  m = error_of(dir);
  EXPECT_NE(m.find("poses_bounds.npy: expected an (N, 17) array"), std::string::npos) << m;
  EXPECT_NE(m.find("(3, 15)"), std::string::npos) << m;

  std::vector<double> rows(3 * 17, 1.0);  // all-ones R is no rotation
  write_file_atomic(dir / "poses_bounds.npy", npy_bytes({3, 17}, rows));
  m = error_of(dir);
  EXPECT_NE(m.find("pose 0 in "), std::string::npos) << m;
  EXPECT_NE(m.find("is not a rotation"), std::string::npos) << m;

  write_file_atomic(dir / "poses_bounds.npy", "\x93NUMPY");
  m = error_of(dir);
  EXPECT_NE(m.find("poses_bounds.npy: not a NumPy .npy file"), std::string::npos) << m;

  fs::remove_all(dir / "images");
  write_file_atomic(dir / "poses_bounds.npy", npy_bytes({1, 17}, llff_row(opencv_c2w(0), kH, kW, kF)));
  m = error_of(dir);
  EXPECT_NE(m.find("image folder " + (dir / "images").string() + " not found"), std::string::npos) << m;
  fs::remove_all(dir);
}

TEST(Llff, Fern) {
  const fs::path dir = test::data_dir() / "fern";
  if (!fs::exists(dir / "poses_bounds.npy")) GTEST_SKIP() << "no fern data in " << dir;
  const NpyArray pb = read_npy(dir / "poses_bounds.npy");
  ASSERT_EQ(pb.shape, (std::vector<int64_t>{20, 17}));
  const detail::RawScene s = detail::read_scene(dir);
  EXPECT_EQ(s.source, "llff");
  ASSERT_EQ(s.views.size(), 20u);
  for (size_t i = 0; i < s.views.size(); ++i) {
    const detail::RawView& v = s.views[i];
    EXPECT_EQ(v.K.width, 504);
    EXPECT_EQ(v.K.height, 378);
    EXPECT_NEAR(v.K.fx, pb.data[17 * i + 14] * 504 / 4032, 1e-9);
    EXPECT_NEAR(pb.data[17 * i + 9], 4032, 1e-9);  // W of the full-size photos
    const Eigen::Vector3d zi = v.camtoworld.block<3, 1>(0, 2);
    for (const detail::RawView& o : s.views) EXPECT_GT(zi.dot(o.camtoworld.block<3, 1>(0, 2)), 0.9);
  }
  DatasetOptions opt;
  opt.dir = dir, opt.data_factor = 2;
  const Dataset ds = load_dataset(opt);
  EXPECT_EQ(ds.train.size() + ds.test.size(), 20u);
  EXPECT_EQ(ds.test.size(), 3u);  // every 8th of 20
  EXPECT_EQ(ds.train[0].camera.width, 252);
  EXPECT_EQ(ds.train[0].camera.height, 189);
  EXPECT_GT(ds.scene_scale, 0);
  EXPECT_EQ(ds.load_image(ds.train[0]).shape(), (Shape{189, 252, 3}));
}
