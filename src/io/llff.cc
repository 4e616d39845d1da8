#include "io/llff.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <Eigen/Core>
#include <Eigen/LU>

#include "core/error.h"
#include "io/image.h"
#include "io/npy.h"

namespace vg::detail {

namespace {

namespace fs = std::filesystem;

constexpr int kCols = 17;  // 15 (3x5 matrix) + near + far

bool is_llff_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// The image files of `dir`, sorted by name (the order of poses_bounds.npy's rows).
std::vector<fs::path> llff_images(const fs::path& dir) {
  VG_CHECK(fs::is_directory(dir), "image folder ", dir.string(), " not found (needed by poses_bounds.npy)");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && is_llff_image(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  return files;
}

// 3x5 row-major matrix entry (r, c) of a row.
double at(const double* row, int r, int c) { return row[5 * r + c]; }

// R's columns are (down, right, back); OpenCV's camera axes are (right, down, forward = -back).
Eigen::Matrix4d llff_camtoworld(const double* row, const fs::path& file, size_t i) {
  Eigen::Matrix4d c2w = Eigen::Matrix4d::Identity();
  for (int r = 0; r < 3; ++r) {
    c2w(r, 0) = at(row, r, 1);
    c2w(r, 1) = at(row, r, 0);
    c2w(r, 2) = -at(row, r, 2);
    c2w(r, 3) = at(row, r, 3);
  }
  const Eigen::Matrix3d R = c2w.block<3, 3>(0, 0);
  VG_CHECK((R.transpose() * R - Eigen::Matrix3d::Identity()).cwiseAbs().maxCoeff() < 1e-3 && R.determinant() > 0,
           "pose ", i, " in ", file.string(), " is not a rotation");
  return c2w;
}

// (H, W, f) of the full-size photos -> intrinsics at the size of the image file on disk.
Intrinsics llff_intrinsics(const double* row, const fs::path& image, const fs::path& file, size_t i) {
  const double H = at(row, 0, 4), W = at(row, 1, 4), f = at(row, 2, 4);
  VG_CHECK(H > 0 && W > 0 && f > 0 && std::isfinite(H * W * f), "pose ", i, " in ", file.string(),
           " has bad H, W, focal (", H, ", ", W, ", ", f, ")");
  const ImageInfo info = read_image_info(image);
  const double aspect = static_cast<double>(info.width) / info.height;
  VG_CHECK(std::abs(aspect / (W / H) - 1) <= 0.01, "image ", image.string(), " is ", info.width, "x", info.height,
           " but pose ", i, " in ", file.string(), " is for ", W, "x", H, " (aspect ratios differ by over 1%)");
  Intrinsics K;
  K.width = info.width, K.height = info.height;
  K.fx = K.fy = f * info.width / W;
  K.cx = 0.5 * info.width, K.cy = 0.5 * info.height;
  VG_CHECK(std::isfinite(K.fx) && K.fx > 0, "pose ", i, " in ", file.string(), ": focal ", f, " for width ", W,
           " gives no usable focal length at width ", info.width);
  return K;
}

}  // namespace

RawScene read_llff(const fs::path& dir) {
  const fs::path file = dir / "poses_bounds.npy";
  const NpyArray a = read_npy(file);
  VG_CHECK(a.shape.size() == 2 && a.shape[1] == kCols && a.shape[0] > 0, file.string(),
           ": expected an (N, 17) array of poses and bounds, got shape ", npy_shape_string(a.shape));
  for (double x : a.data) VG_CHECK(std::isfinite(x), file.string(), " has non-finite values");
  const std::vector<fs::path> images = llff_images(dir / "images");
  const size_t n = static_cast<size_t>(a.shape[0]);
  VG_CHECK(images.size() == n, file.string(), " has ", n, " poses but ", (dir / "images").string(), " has ",
           images.size(), " images (.jpg/.jpeg/.png)");
  RawScene s;
  s.source = "llff";
  s.cameras_file = file;
  for (size_t i = 0; i < n; ++i) {
    const double* row = a.data.data() + i * kCols;
    RawView v;
    v.name = images[i].filename().string();
    v.image_path = images[i];
    v.camtoworld = llff_camtoworld(row, file, i);
    v.K = llff_intrinsics(row, images[i], file, i);
    v.camera = 0;
    s.views.push_back(std::move(v));
  }
  return s;
}

}  // namespace vg::detail
