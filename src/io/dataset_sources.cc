#include "io/dataset_sources.h"

#include <cmath>

#include <Eigen/LU>

#include "core/error.h"
#include "io/colmap.h"
#include "io/llff.h"
#include "io/transforms.h"

namespace vg::detail {

namespace {

namespace fs = std::filesystem;

// COLMAP camera params -> pinhole + OpenCV radial-tangential distortion (gsplat's _camera_distortion).
void colmap_intrinsics(const ColmapCamera& c, const fs::path& file, Intrinsics& K, Distortion& d) {
  const auto& p = c.params;
  for (double v : p) VG_CHECK(std::isfinite(v), "camera ", c.id, " in ", file.string(), " has non-finite parameters");
  K.width = static_cast<int>(c.width);
  K.height = static_cast<int>(c.height);
  if (c.model == "SIMPLE_PINHOLE" || c.model == "SIMPLE_RADIAL" || c.model == "RADIAL") {
    K.fx = K.fy = p[0], K.cx = p[1], K.cy = p[2];
    if (c.model == "SIMPLE_RADIAL") d.k1 = p[3];
    if (c.model == "RADIAL") d.k1 = p[3], d.k2 = p[4];
  } else if (c.model == "PINHOLE" || c.model == "OPENCV") {
    K.fx = p[0], K.fy = p[1], K.cx = p[2], K.cy = p[3];
    if (c.model == "OPENCV") d.k1 = p[4], d.k2 = p[5], d.p1 = p[6], d.p2 = p[7];
  } else {
    VG_FAIL("camera ", c.id, " in ", file.string(), " has model ", c.model,
            "; supported: SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV");
  }
  VG_CHECK(K.width > 0 && K.height > 0 && K.fx > 0 && K.fy > 0, "camera ", c.id, " in ", file.string(),
           " has bad intrinsics (", K.width, "x", K.height, ", focal ", K.fx, ")");
}

RawScene read_colmap(const fs::path& dir) {
  const fs::path model_dir = find_colmap_model(dir);
  const bool bin = fs::exists(model_dir / "cameras.bin");
  const std::string ext = bin ? ".bin" : ".txt";
  const ColmapModel m = read_colmap_model(model_dir);
  RawScene s;
  s.source = "colmap";
  s.cameras_file = model_dir / ("cameras" + ext);
  const fs::path images_file = model_dir / ("images" + ext);
  const fs::path image_dir = dir / "images";
  VG_CHECK(fs::is_directory(image_dir), "image folder ", image_dir.string(), " not found (needed by ",
           images_file.string(), ")");
  for (const auto& [id, im] : m.images) {
    auto cam = m.cameras.find(im.camera_id);
    VG_CHECK(cam != m.cameras.end(), "image ", im.name, " in ", images_file.string(), " uses camera ", im.camera_id,
             " missing from ", s.cameras_file.string());
    RawView v;
    v.name = im.name;
    v.image_path = image_dir / im.name;
    VG_CHECK(fs::is_regular_file(v.image_path), "image ", im.name, " listed in ", images_file.string(),
             " not found: ", v.image_path.string());
    const Eigen::Matrix4d w2c = im.world_to_camera();
    VG_CHECK(w2c.allFinite() && std::isfinite(im.qvec[0] + im.qvec[1] + im.qvec[2] + im.qvec[3]),
             "image ", im.name, " in ", images_file.string(), " has a non-finite pose");
    v.camtoworld = w2c.inverse();
    colmap_intrinsics(cam->second, s.cameras_file, v.K, v.dist);
    v.camera = static_cast<long>(im.camera_id);
    s.views.push_back(std::move(v));
  }
  VG_CHECK(!s.views.empty(), "no images in ", images_file.string());
  for (const auto& [id, p] : m.points) {
    for (int d = 0; d < 3; ++d) s.points.push_back(p.xyz[d]);
    for (int d = 0; d < 3; ++d) s.colors.push_back(p.rgb[d] / 255.0f);
  }
  for (double x : s.points)
    VG_CHECK(std::isfinite(x), "non-finite point in ", (model_dir / ("points3D" + ext)).string());
  return s;
}

void add_frames(RawScene& s, const fs::path& json, bool test) {
  // Frames with identical intrinsics and distortion share one camera (one undistortion map).
  for (TransformsFrame& f : read_transforms(json)) {
    RawView v{f.name, f.image_path, f.camtoworld, f.K, f.dist, -1, test};
    for (const RawView& o : s.views)
      if (o.K.fx == v.K.fx && o.K.fy == v.K.fy && o.K.cx == v.K.cx && o.K.cy == v.K.cy &&
          o.K.width == v.K.width && o.K.height == v.K.height && o.dist.k1 == v.dist.k1 && o.dist.k2 == v.dist.k2 &&
          o.dist.p1 == v.dist.p1 && o.dist.p2 == v.dist.p2 && o.dist.k3 == v.dist.k3) {
        v.camera = o.camera;
        break;
      }
    if (v.camera < 0) v.camera = static_cast<long>(s.views.size());
    s.views.push_back(std::move(v));
  }
}

}  // namespace

RawScene read_scene(const fs::path& dir) {
  VG_CHECK(fs::is_directory(dir), "dataset folder ", dir.string(), " not found");
  for (const auto& d : {dir / "sparse" / "0", dir / "sparse"})
    if (fs::exists(d / "cameras.bin") || fs::exists(d / "cameras.txt")) return read_colmap(dir);
  RawScene s;
  s.source = "transforms";
  if (fs::exists(dir / "transforms_train.json")) {
    s.has_split = true;
    s.cameras_file = dir / "transforms_train.json";
    add_frames(s, dir / "transforms_train.json", false);
    if (fs::exists(dir / "transforms_test.json")) add_frames(s, dir / "transforms_test.json", true);
    return s;
  }
  if (fs::exists(dir / "transforms.json")) {
    s.cameras_file = dir / "transforms.json";
    add_frames(s, dir / "transforms.json", false);
    return s;
  }
  if (fs::exists(dir / "poses_bounds.npy")) return read_llff(dir);
  return read_colmap(dir);  // throws: says what was looked for
}

}  // namespace vg::detail
