#include "io/ply.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include <Eigen/Geometry>

#include "core/error.h"
#include "core/fs.h"

namespace vg {

std::vector<std::string> ply_3dgs_properties(int sh_degree) {
  std::vector<std::string> p = {"x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"};
  const int rest = 3 * (sh_coeffs(sh_degree) - 1);
  for (int i = 0; i < rest; ++i) p.push_back("f_rest_" + std::to_string(i));
  p.push_back("opacity");
  for (int i = 0; i < 3; ++i) p.push_back("scale_" + std::to_string(i));
  for (int i = 0; i < 4; ++i) p.push_back("rot_" + std::to_string(i));
  return p;
}

namespace {

std::string ply_header(int64_t n, const std::vector<std::string>& float_props) {
  std::ostringstream h;
  h << "ply\nformat binary_little_endian 1.0\nelement vertex " << n << "\n";
  for (const auto& p : float_props) h << "property float " << p << "\n";
  h << "end_header\n";
  return h.str();
}

// Splits a similarity x' = s R x + t into (s, R, t).
void decompose(const Eigen::Matrix4d& T, double& s, Eigen::Matrix3d& R, Eigen::Vector3d& t) {
  const Eigen::Matrix3d A = T.topLeftCorner<3, 3>();
  s = std::cbrt(A.determinant());
  VG_CHECK(std::isfinite(s) && s > 0, "world transform is not a similarity (det ", A.determinant(), ")");
  R = A / s;
  t = T.topRightCorner<3, 1>();
}

}  // namespace

void write_ply_3dgs(const std::filesystem::path& path, const Gaussians& g, const Eigen::Matrix4d& T) {
  VG_CHECK(g.size() == 0 || !g.device().is_cuda(), "cannot write ", path.string(), ": Gaussians must be on the CPU");
  const int64_t n = g.size();
  const int deg = n > 0 ? g.max_sh_degree() : 0;
  const int64_t k1 = sh_coeffs(deg) - 1;
  if (n > 0) {
    g.means.expect("means", {n, 3});
    g.scales.expect("scales", {n, 3});
    g.quats.expect("quats", {n, 4});
    g.opacities.expect("opacities", {n});
    g.sh0.expect("sh0", {n, 3});
    g.shN.expect("shN", {n, k1, 3});
  }
  double s;
  Eigen::Matrix3d R;
  Eigen::Vector3d t;
  decompose(T, s, R, t);
  const Eigen::Quaterniond qinv(R.transpose());  // rotation back to the original world
  const auto props = ply_3dgs_properties(deg);
  std::string out = ply_header(n, props);
  std::vector<float> row(props.size());
  const float* means = n ? g.means.data<float>() : nullptr;
  const float* scales = n ? g.scales.data<float>() : nullptr;
  const float* quats = n ? g.quats.data<float>() : nullptr;
  const float* opac = n ? g.opacities.data<float>() : nullptr;
  const float* sh0 = n ? g.sh0.data<float>() : nullptr;
  const float* shN = n ? g.shN.data<float>() : nullptr;
  for (int64_t i = 0; i < n; ++i) {
    size_t c = 0;
    const Eigen::Vector3d x = R.transpose() * (Eigen::Vector3d(means[3 * i], means[3 * i + 1], means[3 * i + 2]) - t) / s;
    for (int d = 0; d < 3; ++d) row[c++] = static_cast<float>(x[d]);
    for (int d = 0; d < 3; ++d) row[c++] = 0.0f;  // normals (unused, as INRIA writes them)
    for (int d = 0; d < 3; ++d) row[c++] = sh0[3 * i + d];
    for (int ch = 0; ch < 3; ++ch)  // channel-major: f_rest_{ch*(K-1)+j} = shN[i, j, ch]
      for (int64_t j = 0; j < k1; ++j) row[c++] = shN[(i * k1 + j) * 3 + ch];
    row[c++] = opac[i];
    for (int d = 0; d < 3; ++d) row[c++] = static_cast<float>(scales[3 * i + d] - std::log(s));
    const Eigen::Quaterniond q =
        qinv * Eigen::Quaterniond(quats[4 * i], quats[4 * i + 1], quats[4 * i + 2], quats[4 * i + 3]);
    row[c++] = static_cast<float>(q.w());
    row[c++] = static_cast<float>(q.x());
    row[c++] = static_cast<float>(q.y());
    row[c++] = static_cast<float>(q.z());
    out.append(reinterpret_cast<const char*>(row.data()), row.size() * sizeof(float));
  }
  write_file_atomic(path, out);
}

void write_points_ply(const std::filesystem::path& path, const std::vector<float>& xyz, const std::vector<float>& rgb,
                      bool binary) {
  VG_CHECK(xyz.size() % 3 == 0 && (rgb.empty() || rgb.size() == xyz.size()), "cannot write ", path.string(),
           ": ", xyz.size(), " coordinates and ", rgb.size(), " colour values");
  const size_t n = xyz.size() / 3;
  std::ostringstream os;
  os << "ply\nformat " << (binary ? "binary_little_endian" : "ascii") << " 1.0\nelement vertex " << n
     << "\nproperty float x\nproperty float y\nproperty float z\n";
  if (!rgb.empty()) os << "property uchar red\nproperty uchar green\nproperty uchar blue\n";
  os << "end_header\n";
  if (!binary) os.precision(9);
  auto to_u8 = [](float v) { return static_cast<uint8_t>(std::lround(std::min(1.0f, std::max(0.0f, v)) * 255.0f)); };
  for (size_t i = 0; i < n; ++i) {
    if (binary) {
      os.write(reinterpret_cast<const char*>(&xyz[3 * i]), 3 * sizeof(float));
      if (!rgb.empty())
        for (int c = 0; c < 3; ++c) os.put(static_cast<char>(to_u8(rgb[3 * i + c])));
    } else {
      os << xyz[3 * i] << ' ' << xyz[3 * i + 1] << ' ' << xyz[3 * i + 2];
      if (!rgb.empty())
        for (int c = 0; c < 3; ++c) os << ' ' << int(to_u8(rgb[3 * i + c]));
      os << '\n';
    }
  }
  write_file_atomic(path, os.str());
}

}  // namespace vg
