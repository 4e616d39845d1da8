#include "io/strecha.h"

#include <cmath>
#include <sstream>

#include <Eigen/Dense>

#include "core/error.h"
#include "core/fs.h"

namespace vg {

Eigen::Matrix4d StrechaCamera::cam_from_world() const {
  Eigen::Matrix4d T = Eigen::Matrix4d::Identity();
  T.topLeftCorner<3, 3>() = R.transpose();
  T.topRightCorner<3, 1>() = -R.transpose() * center;
  return T;
}

StrechaCamera read_strecha_camera(const std::filesystem::path& path) {
  std::istringstream in(read_file(path));
  double v[26];
  for (int i = 0; i < 26; ++i) {
    VG_CHECK(static_cast<bool>(in >> v[i]), "bad Strecha camera file ", path.string(), ": expected 26 numbers (K, ",
             "distortion, R, centre, W H), got ", i);
    VG_CHECK(std::isfinite(v[i]), "bad Strecha camera file ", path.string(), ": value ", i + 1, " is not finite");
  }
  StrechaCamera c;
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k) {
      c.K(r, k) = v[3 * r + k];
      c.R(r, k) = v[12 + 3 * r + k];
    }
  c.distortion = Eigen::Vector3d(v[9], v[10], v[11]);
  c.center = Eigen::Vector3d(v[21], v[22], v[23]);
  VG_CHECK(v[24] >= 1 && v[25] >= 1 && v[24] <= 1e6 && v[25] <= 1e6, "bad Strecha camera file ", path.string(),
           ": image size ", v[24], "x", v[25]);
  c.width = static_cast<int>(v[24]);
  c.height = static_cast<int>(v[25]);
  VG_CHECK(std::abs(c.R.determinant() - 1.0) < 1e-3, "bad Strecha camera file ", path.string(),
           ": R is not a rotation (det ", c.R.determinant(), ")");
  return c;
}

std::map<std::string, StrechaCamera> read_strecha_cameras(const std::filesystem::path& dir) {
  VG_CHECK(std::filesystem::is_directory(dir), "Strecha camera folder ", dir.string(), " does not exist");
  std::map<std::string, StrechaCamera> cams;
  const std::string ext = ".camera";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.size() <= ext.size() || name.compare(name.size() - ext.size(), ext.size(), ext) != 0)
      continue;
    cams[name.substr(0, name.size() - ext.size())] = read_strecha_camera(e.path());
  }
  VG_CHECK(!cams.empty(), "no .camera files in ", dir.string());
  return cams;
}

}  // namespace vg
