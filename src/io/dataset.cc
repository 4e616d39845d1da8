#include "io/dataset.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include <Eigen/LU>

#include "core/error.h"
#include "io/dataset_sources.h"
#include "io/image.h"
#include "io/normalize.h"
#include "io/undistort.h"

namespace vg {

namespace {

namespace fs = std::filesystem;
using detail::RawScene;
using detail::RawView;

// Checks every image's header and brings K to the size that will be loaded: the file's size
// (gsplat rescales K when the images differ from the camera's size), then / data_factor.
void fit_intrinsics(RawView& v, int factor, int& file_w, int& file_h) {
  const ImageInfo info = read_image_info(v.image_path);
  file_w = info.width, file_h = info.height;
  const double sx = static_cast<double>(info.width) / v.K.width, sy = static_cast<double>(info.height) / v.K.height;
  v.K.fx *= sx, v.K.cx *= sx, v.K.fy *= sy, v.K.cy *= sy;
  v.K.width = info.width / factor;
  v.K.height = info.height / factor;
  VG_CHECK(v.K.width > 0 && v.K.height > 0, "image ", v.image_path.string(), " (", info.width, "x", info.height,
           ") is smaller than data_factor ", factor);
  v.K.fx /= factor, v.K.fy /= factor, v.K.cx /= factor, v.K.cy /= factor;
}

Camera make_camera(const Eigen::Matrix4d& c2w, const Intrinsics& K) {
  const Eigen::Matrix4d w2c = c2w.inverse();
  Camera cam;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) cam.viewmat[static_cast<size_t>(4 * r + c)] = static_cast<float>(w2c(r, c));
  cam.fx = static_cast<float>(K.fx), cam.fy = static_cast<float>(K.fy);
  cam.cx = static_cast<float>(K.cx), cam.cy = static_cast<float>(K.cy);
  cam.width = K.width, cam.height = K.height;
  return cam;
}

// gsplat: over all cameras; with the dataset's own split (3DGS getNerfppNorm) over the train cameras.
double max_distance_from_mean(const detail::RawScene& s, const std::vector<Eigen::Matrix4d>& c2w) {
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  int n = 0;
  for (size_t i = 0; i < c2w.size(); ++i)
    if (!s.has_split || !s.views[i].test) mean += c2w[i].block<3, 1>(0, 3), ++n;
  mean /= std::max(n, 1);
  double r = 0;
  for (size_t i = 0; i < c2w.size(); ++i)
    if (!s.has_split || !s.views[i].test) r = std::max(r, (c2w[i].block<3, 1>(0, 3) - mean).norm());
  return r;
}

}  // namespace

Dataset load_dataset(const DatasetOptions& opt) {
  VG_CHECK(opt.data_factor >= 1, "data_factor must be >= 1, got ", opt.data_factor);
  VG_CHECK(opt.test_every >= 1, "test_every must be >= 1, got ", opt.test_every);
  RawScene s = detail::read_scene(opt.dir);
  if (!s.has_split)  // gsplat sorts by image name so the test split is stable
    std::stable_sort(s.views.begin(), s.views.end(), [](const RawView& a, const RawView& b) { return a.name < b.name; });

  Dataset ds;
  ds.source = s.source;
  ds.background = opt.background;
  ds.data_factor = opt.data_factor;
  std::vector<int> file_w(s.views.size()), file_h(s.views.size()), undist(s.views.size(), -1);
  std::map<std::tuple<long, int, int>, int> undistorter_of;  // (camera, w, h) -> index
  for (size_t i = 0; i < s.views.size(); ++i) {
    RawView& v = s.views[i];
    fit_intrinsics(v, opt.data_factor, file_w[i], file_h[i]);
    if (!v.dist.any()) continue;
    const auto key = std::make_tuple(v.camera, v.K.width, v.K.height);
    auto it = undistorter_of.find(key);
    if (it == undistorter_of.end()) {
      it = undistorter_of.emplace(key, static_cast<int>(ds.undistorters.size())).first;
      ds.undistorters.push_back(std::make_shared<const Undistorter>(make_undistorter(v.K, v.dist)));
    }
    undist[i] = it->second;
    v.K = ds.undistorters[static_cast<size_t>(it->second)]->dst;
  }

  std::vector<Eigen::Matrix4d> c2w;
  for (const RawView& v : s.views) c2w.push_back(v.camtoworld);
  std::vector<double> points = s.points;
  if (opt.normalize && !s.has_split) ds.transform = normalize_world_space(c2w, points);
  ds.scene_scale = static_cast<float>(max_distance_from_mean(s, c2w));
  ds.points.assign(points.begin(), points.end());
  ds.colors = s.colors;

  for (size_t i = 0; i < s.views.size(); ++i) {
    const RawView& v = s.views[i];
    View out{v.name, v.image_path, make_camera(c2w[i], v.K), file_w[i], file_h[i], undist[i]};
    const bool test = s.has_split ? v.test : i % static_cast<size_t>(opt.test_every) == 0;
    (test ? ds.test : ds.train).push_back(std::move(out));
  }
  return ds;
}

Tensor Dataset::load_image(const View& v) const {
  Image img = read_image(v.image_path);
  VG_CHECK(img.width == v.file_width && img.height == v.file_height, "image ", v.image_path.string(), " is ",
           img.width, "x", img.height, ", expected ", v.file_width, "x", v.file_height);
  img = resize_area(to_rgb(img, background), data_factor);
  if (v.undistorter >= 0) {
    VG_CHECK(static_cast<size_t>(v.undistorter) < undistorters.size(), "view ", v.name, " has no undistortion map");
    img = undistorters[static_cast<size_t>(v.undistorter)]->apply(img);
  }
  VG_CHECK(img.width == v.camera.width && img.height == v.camera.height, "image ", v.image_path.string(),
           " loads as ", img.width, "x", img.height, " but its camera is ", v.camera.width, "x", v.camera.height);
  return image_to_tensor(img);
}

}  // namespace vg
