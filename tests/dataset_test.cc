#include "io/dataset.h"

#include <gtest/gtest.h>

#include <Eigen/Geometry>
#include <Eigen/LU>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/fs.h"
#include "io/colmap.h"
#include "io/image.h"
#include "io/transforms.h"
#include "io/undistort.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace vg;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_dataset_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

constexpr int kW = 32, kH = 24, kViews = 10;

// A COLMAP dataset: kViews cameras on a ring looking at the origin, a flat symmetric point cloud,
// small PNG images. `model` is PINHOLE or OPENCV.
ColmapModel write_synthetic(const fs::path& dir, const std::string& model = "PINHOLE") {
  ColmapModel m;
  if (model == "OPENCV")
    m.cameras[1] = {1, "OPENCV", kW, kH, {30, 31, 16, 12, 0.05, -0.01, 0.001, -0.002}};
  else
    m.cameras[1] = {1, "PINHOLE", kW, kH, {30, 31, 16, 12}};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 1);
  for (int i = 0; i < kViews; ++i) {
    const double a = 2 * M_PI * i / kViews;
    const Eigen::Vector3d C(4 * std::cos(a) + 1, 4 * std::sin(a) - 2, 0.5);  // ring around (1,-2,0)
    const Eigen::Vector3d z = (Eigen::Vector3d(1, -2, 0) - C).normalized();
    const Eigen::Vector3d x = z.cross(Eigen::Vector3d(0, 0, 1)).normalized(), y = z.cross(x);
    Eigen::Matrix3d R_c2w;
    R_c2w << x, y, z;
    const Eigen::Matrix3d R = R_c2w.transpose();
    const Eigen::Quaterniond q(R);
    const Eigen::Vector3d t = -R * C;
    ColmapImage im;
    im.id = static_cast<uint32_t>(100 - i);  // ids out of name order
    im.qvec = {q.w(), q.x(), q.y(), q.z()};
    im.tvec = {t.x(), t.y(), t.z()};
    im.camera_id = 1;
    im.name = "img_" + std::to_string(10 + i) + ".png";
    m.images[im.id] = im;
    Image img{kW, kH, 3, std::vector<float>(kW * kH * 3)};
    for (float& p : img.pixels) p = u(rng);
    write_png(dir / "images" / im.name, img);
  }
  std::normal_distribution<double> g(0, 1);
  for (uint64_t p = 1; p <= 100; ++p) {
    const Eigen::Vector3d v(2 * g(rng), g(rng), 0.2 * g(rng));
    m.points[2 * p] = {2 * p, {1 + v.x(), -2 + v.y(), v.z()}, {255, 128, 0}, 0.5, {}};
    m.points[2 * p + 1] = {2 * p + 1, {1 - v.x(), -2 - v.y(), -v.z()}, {0, 0, 255}, 0.5, {}};
  }
  write_colmap_bin(dir / "sparse" / "0", m);
  return m;
}

std::string folder_fingerprint(const fs::path& dir) {
  std::string s;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      s += e.path().string() + ":" + std::to_string(std::hash<std::string>{}(read_file(e.path()))) + "\n";
  return s;
}

Eigen::Vector3d apply(const Eigen::Matrix4d& T, const Eigen::Vector3d& p) {
  return T.topLeftCorner<3, 3>() * p + T.topRightCorner<3, 1>();
}

Eigen::Vector3d centre(const View& v) {
  const auto p = v.camera.position();
  return {p[0], p[1], p[2]};
}

void expect_error_naming(const DatasetOptions& opt, const std::string& what) {
  try {
    load_dataset(opt);
    ADD_FAILURE() << "loaded; expected an error naming " << what;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace

TEST(Dataset, Lego) {
  const fs::path dir = test::data_dir() / "lego";
  if (!fs::exists(dir)) GTEST_SKIP() << "no lego data";
  const std::string before = folder_fingerprint(dir);
  DatasetOptions opt;
  opt.dir = dir;
  opt.background = {1, 1, 1};
  const Dataset ds = load_dataset(opt);
  EXPECT_EQ(ds.source, "transforms");
  EXPECT_EQ(ds.train.size(), 100u);
  EXPECT_EQ(ds.test.size(), 25u);
  EXPECT_TRUE(ds.points.empty());
  EXPECT_TRUE(ds.transform.isIdentity());
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  for (const View& v : ds.train) mean += centre(v) / ds.train.size();
  double r = 0;
  for (const View& v : ds.train) r = std::max(r, (centre(v) - mean).norm());
  EXPECT_NEAR(ds.scene_scale, r, 1e-5);  // train cameras only, as 3DGS getNerfppNorm
  const Tensor img = ds.load_image(ds.train[0]);
  EXPECT_EQ(img.shape(), (Shape{400, 400, 3}));
  EXPECT_FLOAT_EQ(img.data<float>()[0], 1.0f);  // transparent corner on white
  EXPECT_EQ(folder_fingerprint(dir), before);
}

TEST(Dataset, FoxUndistortedAndNormalised) {
  const fs::path dir = test::data_dir() / "fox";
  if (!fs::exists(dir)) GTEST_SKIP() << "no fox data";
  const std::string before = folder_fingerprint(dir);
  DatasetOptions opt;
  opt.dir = dir;
  const Dataset ds = load_dataset(opt);
  EXPECT_EQ(ds.train.size() + ds.test.size(), 67u);
  EXPECT_EQ(ds.test.size(), 9u);  // indices 0, 8, ..., 64
  EXPECT_EQ(ds.test[1].name, "images/0009.jpg");
  ASSERT_EQ(ds.undistorters.size(), 1u);
  const Camera& cam = ds.train[0].camera;
  EXPECT_LE(cam.width, 540);
  EXPECT_GT(cam.width, 500);
  EXPECT_GT(cam.height, 900);
  const Tensor img = ds.load_image(ds.train[0]);
  EXPECT_EQ(img.shape(), (Shape{cam.height, cam.width, 3}));
  // Camera centres are the original ones under ds.transform (a similarity).
  const Eigen::Matrix3d A = ds.transform.topLeftCorner<3, 3>();
  const double s = std::cbrt(A.determinant());
  EXPECT_LT((A.transpose() * A / (s * s) - Eigen::Matrix3d::Identity()).norm(), 1e-9);
  auto frames = read_transforms(dir / "transforms.json");
  std::sort(frames.begin(), frames.end(), [](auto& a, auto& b) { return a.name < b.name; });
  const Eigen::Vector3d c0 = apply(ds.transform, frames[0].camtoworld.block<3, 1>(0, 3));
  EXPECT_LT((c0 - centre(ds.test[0])).norm(), 1e-4);
  EXPECT_EQ(folder_fingerprint(dir), before);
}

TEST(Dataset, ColmapNormalisationInvariants) {
  const fs::path dir = temp_dir("norm");
  const ColmapModel m = write_synthetic(dir);
  const std::string before = folder_fingerprint(dir);
  DatasetOptions opt;
  opt.dir = dir;
  opt.test_every = 4;
  const Dataset ds = load_dataset(opt);
  EXPECT_EQ(ds.source, "colmap");
  EXPECT_EQ(ds.train.size(), 7u);
  EXPECT_EQ(ds.test.size(), 3u);
  EXPECT_EQ(ds.test[0].name, "img_10.png");  // sorted by name, indices % 4 == 0
  EXPECT_EQ(ds.test[1].name, "img_14.png");
  ASSERT_EQ(ds.points.size(), 600u);
  EXPECT_FLOAT_EQ(ds.colors[0], 1.0f);
  // Points and cameras moved by the same transform.
  size_t i = 0;
  for (const auto& [id, p] : m.points) {
    const Eigen::Vector3d q = apply(ds.transform, {p.xyz[0], p.xyz[1], p.xyz[2]});
    for (int d = 0; d < 3; ++d) EXPECT_NEAR(ds.points[3 * i + d], q[d], 1e-5);
    ++i;
  }
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  double max_dist = 0;
  std::vector<View> all = ds.train;
  all.insert(all.end(), ds.test.begin(), ds.test.end());
  for (const View& v : all) {
    for (const auto& [id, im] : m.images)
      if (im.name == v.name) {
        const Eigen::Vector3d c = apply(ds.transform, im.world_to_camera().inverse().block<3, 1>(0, 3));
        EXPECT_LT((c - centre(v)).norm(), 1e-5) << v.name;
      }
    mean += centre(v) / all.size();
  }
  for (const View& v : all) max_dist = std::max(max_dist, (centre(v) - mean).norm());
  // The ring's centre is the points' median (-> origin); the cameras sit 0.5 above its plane.
  EXPECT_LT(apply(ds.transform, {1, -2, 0}).norm(), 1e-5);
  EXPECT_LT((mean - apply(ds.transform, {1, -2, 0.5})).norm(), 1e-5);
  EXPECT_NEAR(ds.scene_scale, max_dist, 1e-5);
  // Flat cloud: its smallest principal axis becomes z.
  double var_z = 0, var_x = 0;
  for (size_t k = 0; k < ds.points.size() / 3; ++k)
    var_x += ds.points[3 * k] * ds.points[3 * k], var_z += ds.points[3 * k + 2] * ds.points[3 * k + 2];
  EXPECT_LT(var_z, 0.1 * var_x);
  // Intrinsics and images untouched for PINHOLE; data_factor halves both.
  EXPECT_EQ(ds.train[0].camera.fx, 30);
  EXPECT_EQ(ds.load_image(ds.train[0]).shape(), (Shape{kH, kW, 3}));
  opt.data_factor = 2;
  const Dataset half = load_dataset(opt);
  EXPECT_EQ(half.train[0].camera.width, kW / 2);
  EXPECT_FLOAT_EQ(half.train[0].camera.fy, 15.5f);
  EXPECT_EQ(half.load_image(half.train[0]).shape(), (Shape{kH / 2, kW / 2, 3}));
  opt.normalize = false;
  EXPECT_TRUE(load_dataset(opt).transform.isIdentity());
  EXPECT_EQ(folder_fingerprint(dir), before);
  fs::remove_all(dir);
}

TEST(Dataset, OpencvCameraIsUndistorted) {
  const fs::path dir = temp_dir("opencv");
  write_synthetic(dir, "OPENCV");
  DatasetOptions opt;
  opt.dir = dir;
  const Dataset ds = load_dataset(opt);
  ASSERT_EQ(ds.undistorters.size(), 1u);
  const Undistorter& u = *ds.undistorters[0];
  const Camera& cam = ds.train[0].camera;
  EXPECT_EQ(cam.width, u.roi[2]);
  EXPECT_EQ(ds.load_image(ds.train[0]).shape(), (Shape{cam.height, cam.width, 3}));
  // The map sends an undistorted pixel to where the distortion model puts it.
  const int x = 20, y = 7;
  const auto n = u.dist.distort((x + u.roi[0] - u.dst.cx - u.roi[0]) / u.dst.fx, (y + u.roi[1] - u.dst.cy - u.roi[1]) / u.dst.fy);
  const size_t i = static_cast<size_t>(y + u.roi[1]) * kW + x + u.roi[0];
  EXPECT_NEAR(u.mapx[i], 30 * n[0] + 16, 1e-3);
  EXPECT_NEAR(u.mapy[i], 31 * n[1] + 12, 1e-3);
  // undistort_point inverts distort (OpenCV's 5 fixed-point iterations: close, not exact).
  const auto p = undistort_point(u.src, u.dist, 30 * n[0] + 16, 31 * n[1] + 12);
  EXPECT_NEAR(p[0], (x - u.dst.cx) / u.dst.fx, 1e-4);
  fs::remove_all(dir);
}

TEST(Dataset, BadInputErrorsNameTheFile) {
  const fs::path root = temp_dir("bad");
  DatasetOptions opt;
  auto fresh = [&](const std::string& name) {
    const fs::path d = root / name;
    write_synthetic(d);
    opt.dir = d;
    return d;
  };
  {  // no cameras at all
    fs::create_directories(root / "empty");
    opt.dir = root / "empty";
    expect_error_naming(opt, "looked for sparse/0/cameras");
  }
  {
    const fs::path d = fresh("no_images");
    fs::remove_all(d / "images");
    expect_error_naming(opt, (d / "images").string());
  }
  {
    const fs::path d = fresh("trunc_image");
    const fs::path p = d / "images" / "img_13.png";
    const std::string bytes = read_file(p);
    write_file_atomic(p, bytes.substr(0, bytes.size() / 2));
    expect_error_naming(opt, p.string());
  }
  {
    const fs::path d = fresh("trunc_bin");
    const fs::path p = d / "sparse" / "0" / "images.bin";
    const std::string bytes = read_file(p);
    write_file_atomic(p, bytes.substr(0, bytes.size() - 3));
    expect_error_naming(opt, p.string());
  }
  {
    const fs::path d = fresh("missing_file");
    fs::remove(d / "images" / "img_15.png");
    expect_error_naming(opt, "img_15.png");
  }
  {
    const fs::path d = fresh("nan_pose");
    ColmapModel m = read_colmap_model(d / "sparse" / "0");
    m.images.begin()->second.tvec[1] = NAN;
    write_colmap_txt(d / "sparse" / "0", m);
    fs::remove(d / "sparse" / "0" / "cameras.bin");
    expect_error_naming(opt, (d / "sparse" / "0" / "images.txt").string());
  }
  {
    const fs::path d = fresh("inf_intrinsics");
    ColmapModel m = read_colmap_model(d / "sparse" / "0");
    m.cameras.begin()->second.params[0] = INFINITY;
    write_colmap_bin(d / "sparse" / "0", m);
    expect_error_naming(opt, (d / "sparse" / "0" / "cameras.bin").string());
  }
  {  // an image corrupted after loading fails at load_image, naming it
    const fs::path d = fresh("late");
    const Dataset ds = load_dataset(opt);
    write_file_atomic(ds.train[0].image_path, "garbage");
    try {
      ds.load_image(ds.train[0]);
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(ds.train[0].image_path.string()), std::string::npos) << e.what();
    }
  }
  fs::remove_all(root);
}
