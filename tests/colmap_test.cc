#include "io/colmap.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "core/fs.h"
#include "tests/colmap_model_eq.h"

namespace fs = std::filesystem;
using namespace vg;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_colmap_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

ColmapModel example_model() {
  ColmapModel m;
  m.cameras[1] = {1, "SIMPLE_PINHOLE", 640, 480, {500.25, 320, 240}};
  m.cameras[2] = {2, "PINHOLE", 800, 600, {700.5, 701.125, 401, 299.75}};
  m.cameras[3] = {3, "SIMPLE_RADIAL", 320, 200, {250, 160, 100, -0.0123}};
  m.cameras[4] = {4, "RADIAL", 320, 200, {250, 160, 100, 0.01, -0.002}};
  m.cameras[5] = {5, "OPENCV", 1024, 768, {800, 801, 512, 384, 0.1, -0.05, 0.001, -0.0005}};
  m.cameras[6] = {6, "FULL_OPENCV", 100, 100, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};
  for (uint32_t i = 1; i <= 3; ++i) {
    ColmapImage im;
    im.id = i * 10;
    im.qvec = {0.9 + 0.01 * i, 0.1, -0.2 / i, 0.3};
    im.tvec = {1.0 / 3 * i, -2.5, 0.125};
    im.camera_id = i;
    im.name = "img_" + std::to_string(i) + ".jpg";
    for (int k = 0; k < static_cast<int>(i); ++k) {
      im.xys.push_back(10.5 + k);
      im.xys.push_back(20.25 * k);
      im.point3D_ids.push_back(k == 0 ? -1 : 100 + k);
    }
    m.images[im.id] = im;
  }
  m.images[40] = {40, {1, 0, 0, 0}, {0, 0, 0}, 5, "no_points.png", {}, {}};
  for (uint64_t p = 101; p <= 102; ++p)
    m.points[p] = {p, {0.1 * p, -1.0 / 7, 3e5}, {255, static_cast<uint8_t>(p), 0}, 0.75, {{20, 1}, {30, 1}}};
  m.points[7] = {7, {0, 0, 0}, {1, 2, 3}, 0, {}};
  return m;
}

}  // namespace

TEST(Colmap, ModelTable) {
  EXPECT_EQ(colmap_model_id("OPENCV"), 4);
  EXPECT_EQ(colmap_num_params(colmap_model_id("SIMPLE_RADIAL")), 4);
  EXPECT_STREQ(colmap_model_name(1), "PINHOLE");
  EXPECT_EQ(colmap_model_id("NOPE"), -1);
}

TEST(Colmap, BinTxtRoundTrip) {
  const fs::path d = temp_dir("rt");
  const ColmapModel m = example_model();
  write_colmap_bin(d / "bin", m);
  write_colmap_txt(d / "txt", m);
  const ColmapModel from_bin = read_colmap_model(d / "bin");
  const ColmapModel from_txt = read_colmap_model(d / "txt");
  vg::test::expect_same_model(m, from_bin);
  vg::test::expect_same_model(m, from_txt);
  write_colmap_txt(d / "bin2txt", from_bin);  // cross conversions
  write_colmap_bin(d / "txt2bin", from_txt);
  vg::test::expect_same_model(m, read_colmap_txt(d / "bin2txt"));
  EXPECT_EQ(read_file(d / "txt2bin" / "images.bin"), read_file(d / "bin" / "images.bin"));
  EXPECT_EQ(read_file(d / "txt2bin" / "points3D.bin"), read_file(d / "bin" / "points3D.bin"));
  // world_to_camera is the quaternion's rotation and the translation.
  const Eigen::Matrix4d w2c = m.images.at(10).world_to_camera();
  EXPECT_NEAR((w2c.topLeftCorner<3, 3>() * w2c.topLeftCorner<3, 3>().transpose() - Eigen::Matrix3d::Identity()).norm(),
              0, 1e-12);
  EXPECT_DOUBLE_EQ(w2c(0, 3), 1.0 / 3);
  fs::remove_all(d);
}

TEST(Colmap, TruncatedBinNamesTheFile) {
  const fs::path d = temp_dir("trunc");
  write_colmap_bin(d, example_model());
  for (const char* name : {"cameras.bin", "images.bin", "points3D.bin"}) {
    const fs::path p = d / name;
    const std::string full = read_file(p);
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(full.data(), static_cast<std::streamsize>(full.size() - 5));
    try {
      read_colmap_model(d);
      ADD_FAILURE() << name << " truncated but read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
    write_file_atomic(p, full);
  }
  fs::remove_all(d);
}

TEST(Colmap, CorruptTxtNamesTheFileAndLine) {
  const fs::path d = temp_dir("txt");
  write_colmap_txt(d, example_model());
  write_file_atomic(d / "cameras.txt", "# comment\n1 PINHOLE 640 480 500 500 320\n");
  try {
    read_colmap_txt(d);
    ADD_FAILURE() << "corrupt cameras.txt read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((d / "cameras.txt").string() + " line 2"), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}

TEST(Colmap, FindModelSaysWhatWasLookedFor) {
  const fs::path d = temp_dir("find");
  try {
    find_colmap_model(d);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sparse/0/cameras"), std::string::npos) << e.what();
  }
  write_colmap_txt(d / "sparse", example_model());
  EXPECT_EQ(find_colmap_model(d), d / "sparse");
  write_colmap_bin(d / "sparse" / "0", example_model());
  EXPECT_EQ(find_colmap_model(d), d / "sparse" / "0");
  fs::remove_all(d);
}
