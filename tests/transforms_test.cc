#include "io/transforms.h"

#include <gtest/gtest.h>

#include <Eigen/LU>
#include <cmath>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace vg;

namespace {
void expect_rigid(const Eigen::Matrix4d& m) {
  const Eigen::Matrix3d R = m.topLeftCorner<3, 3>();
  EXPECT_LT((R.transpose() * R - Eigen::Matrix3d::Identity()).norm(), 1e-4);
  EXPECT_NEAR(R.determinant(), 1.0, 1e-4);
}
}  // namespace

TEST(Transforms, LegoSplitsAndFocalFromAngle) {
  const fs::path dir = test::data_dir() / "lego";
  if (!fs::exists(dir / "transforms_train.json")) GTEST_SKIP() << "no lego data";
  const auto train = read_transforms(dir / "transforms_train.json");
  const auto test = read_transforms(dir / "transforms_test.json");
  EXPECT_EQ(train.size(), 100u);
  EXPECT_EQ(test.size(), 25u);
  const double angle = 0.6911112070083618;
  for (const auto& f : train) {
    EXPECT_EQ(f.K.width, 400);
    EXPECT_EQ(f.K.height, 400);
    EXPECT_NEAR(f.K.fx, 0.5 * 400 / std::tan(0.5 * angle), 1e-9);
    EXPECT_EQ(f.K.fy, f.K.fx);
    EXPECT_EQ(f.K.cx, 200);
    EXPECT_FALSE(f.dist.any());
    EXPECT_EQ(f.image_path.extension(), ".png");  // file_path lacks it
    expect_rigid(f.camtoworld);
  }
  EXPECT_EQ(train[0].name, "train/r_0.png");
  // OpenGL -> OpenCV: the camera looks along +z, towards the object at the origin.
  const Eigen::Vector3d c = train[0].camtoworld.block<3, 1>(0, 3), fwd = train[0].camtoworld.block<3, 1>(0, 2);
  EXPECT_GT(fwd.dot(-c.normalized()), 0.9);
}

TEST(Transforms, FoxSharedCameraWithDistortion) {
  const fs::path json = test::data_dir() / "fox" / "transforms.json";
  if (!fs::exists(json)) GTEST_SKIP() << "no fox data";
  const auto frames = read_transforms(json);
  ASSERT_EQ(frames.size(), 67u);
  for (const auto& f : frames) {
    EXPECT_EQ(f.K.width, 540);
    EXPECT_EQ(f.K.height, 960);
    EXPECT_DOUBLE_EQ(f.K.fx, 687.76);
    EXPECT_DOUBLE_EQ(f.K.fy, 687.245);
    EXPECT_DOUBLE_EQ(f.K.cy, 482.634);
    EXPECT_DOUBLE_EQ(f.dist.k1, 0.0578421);
    EXPECT_DOUBLE_EQ(f.dist.p2, 0.00015575);
    EXPECT_TRUE(fs::exists(f.image_path));
    expect_rigid(f.camtoworld);
  }
}

TEST(Transforms, BadFilesNameTheFile) {
  const fs::path d = fs::temp_directory_path() / ("vgsplat_transforms_test_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  const std::string ok_matrix = "[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]";
  const std::pair<std::string, std::string> cases[] = {
      {"{\"fl_x\": 100, \"w\": 10, \"h\": 10, \"frames\": [{\"file_path\": \"missing\", \"transform_matrix\": " +
           ok_matrix + "}]}", "missing"},
      {"{\"frames\": [", "cannot parse"},
      {"{\"w\": 10, \"h\": 10, \"frames\": [{\"file_path\": \"transforms.json\", \"transform_matrix\": " + ok_matrix +
           "}]}", "intrinsics"},
      {"{\"fl_x\": 100, \"w\": 10, \"h\": 10, \"frames\": [{\"file_path\": \"transforms.json\", \"transform_matrix\": "
       "[[1,0,0,0],[0,1,0,0],[0,0,1,\"x\"],[0,0,0,1]]}]}", "transform_matrix"},
  };
  for (const auto& [text, what] : cases) {
    write_file_atomic(d / "transforms.json", text);
    try {
      read_transforms(d / "transforms.json");
      ADD_FAILURE() << text;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find((d / "transforms.json").string()), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
  }
  fs::remove_all(d);
}
