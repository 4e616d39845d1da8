#include "io/ply.h"

#include <gtest/gtest.h>

#include <cstring>

#include <Eigen/Geometry>
#include <random>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace vg;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vgsplat_ply_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Gaussians random_gaussians(int64_t n, int degree, unsigned seed) {
  std::mt19937 rng(seed);
  const int64_t k1 = sh_coeffs(degree) - 1;
  Gaussians g;
  g.means = test::normal({n, 3}, 0, 2, rng);
  g.scales = test::normal({n, 3}, -3, 1, rng);
  g.quats = test::normal({n, 4}, 0, 1, rng);
  g.opacities = test::normal({n}, 0, 2, rng);
  g.sh0 = test::normal({n, 3}, 0, 1, rng);
  g.shN = test::normal({n, k1, 3}, 0, 0.1f, rng);
  return g;
}

Eigen::Matrix3d quat_rotation(const float* q) {
  return Eigen::Quaterniond(q[0], q[1], q[2], q[3]).normalized().toRotationMatrix();
}

}  // namespace

TEST(Ply, HeaderPropertyListIsInria) {
  const fs::path d = temp_dir("header");
  write_ply_3dgs(d / "g.ply", random_gaussians(2, 3, 1));
  const std::string bytes = read_file(d / "g.ply");
  std::string expected = "ply\nformat binary_little_endian 1.0\nelement vertex 2\n";
  for (const char* p : {"x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"})
    expected += std::string("property float ") + p + "\n";
  for (int i = 0; i < 45; ++i) expected += "property float f_rest_" + std::to_string(i) + "\n";
  expected += "property float opacity\n";
  for (int i = 0; i < 3; ++i) expected += "property float scale_" + std::to_string(i) + "\n";
  for (int i = 0; i < 4; ++i) expected += "property float rot_" + std::to_string(i) + "\n";
  expected += "end_header\n";
  ASSERT_EQ(bytes.substr(0, expected.size()), expected);
  EXPECT_EQ(bytes.size(), expected.size() + 2 * 62 * sizeof(float));
  EXPECT_EQ(ply_3dgs_properties(0).size(), 17u);
  fs::remove_all(d);
}

TEST(Ply, RoundTripAndChannelMajorRest) {
  const fs::path d = temp_dir("rt");
  for (int degree : {0, 1, 3}) {
    const Gaussians g = random_gaussians(50, degree, 3u + degree);
    write_ply_3dgs(d / "g.ply", g);
    const Gaussians r = read_ply_3dgs(d / "g.ply");
    ASSERT_EQ(r.size(), 50);
    ASSERT_EQ(r.shN.shape(), g.shN.shape());
    for (int i = 0; i < Gaussians::kGroups; ++i)
      EXPECT_EQ(r.group(i).to_vector<float>(), g.group(i).to_vector<float>()) << Gaussians::group_name(i);
  }
  // Channel-major f_rest: property f_rest_{c*(K-1)+j} is shN[n, j, c].
  const Gaussians g = random_gaussians(1, 1, 9);
  write_ply_3dgs(d / "one.ply", g);
  const std::string bytes = read_file(d / "one.ply");
  const size_t start = bytes.find("end_header\n") + 11;
  std::vector<float> row((bytes.size() - start) / sizeof(float));  // copied: the data is not 4-byte aligned
  std::memcpy(row.data(), bytes.data() + start, row.size() * sizeof(float));
  const auto shN = g.shN.to_vector<float>();  // [1,3,3]
  for (int c = 0; c < 3; ++c)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(row[9 + c * 3 + j], shN[j * 3 + c]);
  fs::remove_all(d);
}

TEST(Ply, InverseNormalisationToOriginalWorld) {
  const fs::path d = temp_dir("inv");
  const Gaussians g = random_gaussians(20, 1, 5);
  const double s = 0.37;
  const Eigen::Matrix3d R = Eigen::AngleAxisd(0.7, Eigen::Vector3d(1, 2, -0.5).normalized()).toRotationMatrix();
  const Eigen::Vector3d t(0.3, -1.2, 2.0);
  Eigen::Matrix4d T = Eigen::Matrix4d::Identity();
  T.topLeftCorner<3, 3>() = s * R;
  T.topRightCorner<3, 1>() = t;
  write_ply_3dgs(d / "g.ply", g, T);
  const Gaussians r = read_ply_3dgs(d / "g.ply");
  const auto m0 = g.means.to_vector<float>(), m1 = r.means.to_vector<float>();
  const auto s0 = g.scales.to_vector<float>(), s1 = r.scales.to_vector<float>();
  const auto q0 = g.quats.to_vector<float>(), q1 = r.quats.to_vector<float>();
  for (int i = 0; i < 20; ++i) {
    // Forward-mapping the file's mean gives back the normalised mean.
    const Eigen::Vector3d back = s * R * Eigen::Vector3d(m1[3 * i], m1[3 * i + 1], m1[3 * i + 2]) + t;
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(back[k], m0[3 * i + k], 1e-4);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(s1[3 * i + k], s0[3 * i + k] - std::log(s), 1e-5);
    const Eigen::Matrix3d diff = quat_rotation(&q1[4 * i]) - R.transpose() * quat_rotation(&q0[4 * i]);
    EXPECT_LT(diff.norm(), 1e-5);
  }
  fs::remove_all(d);
}

TEST(Ply, ErrorsNameTheFile) {
  const fs::path d = temp_dir("err");
  write_ply_3dgs(d / "g.ply", random_gaussians(10, 1, 2));
  const std::string bytes = read_file(d / "g.ply");
  write_file_atomic(d / "g.ply", bytes.substr(0, bytes.size() - 7));
  try {
    read_ply_3dgs(d / "g.ply");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((d / "g.ply").string()), std::string::npos) << e.what();
  }
  write_points_ply(d / "pts.ply", {0, 0, 0, 1, 2, 3}, {1, 0, 0, 0, 1, 0}, false);
  EXPECT_THROW(read_ply_3dgs(d / "pts.ply"), Error);  // ascii, no 3DGS properties
  fs::remove_all(d);
}

TEST(Ply, PointCloud) {
  const fs::path d = temp_dir("pts");
  write_points_ply(d / "a.ply", {0.5f, 1, 2, 3, 4, 5}, {1, 0, 0, 0, 0.5f, 1}, false);
  const std::string a = read_file(d / "a.ply");
  EXPECT_NE(a.find("format ascii 1.0\nelement vertex 2\n"), std::string::npos);
  EXPECT_NE(a.find("end_header\n0.5 1 2 255 0 0\n3 4 5 0 128 255\n"), std::string::npos) << a;
  write_points_ply(d / "b.ply", {0.5f, 1, 2, 3, 4, 5}, {1, 0, 0, 0, 0.5f, 1}, true);
  const std::string b = read_file(d / "b.ply");
  EXPECT_EQ(b.size() - (b.find("end_header\n") + 11), 2u * 15u);
  fs::remove_all(d);
}
