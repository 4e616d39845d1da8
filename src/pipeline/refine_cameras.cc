#include "pipeline/refine_cameras.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "geometry/camera_models.h"

namespace vg::refine_detail {

void check_camera(const ColmapCamera& c) {
  const int model = colmap_model_id(c.model);
  VG_CHECK(camera_model_supported(model), "camera ", c.id, " has model '", c.model,
           "' (supported: SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV)");
  VG_CHECK(static_cast<int>(c.params.size()) == colmap_num_params(model), "camera ", c.id, " (", c.model, ") has ",
           c.params.size(), " parameters, needs ", colmap_num_params(model));
  for (double p : c.params) VG_CHECK(std::isfinite(p), "camera ", c.id, " has a non-finite parameter");
  for (int k : camera_focal_idxs(model))
    VG_CHECK(c.params[k] > 0, "camera ", c.id, " has a non-positive focal length (", c.params[k], ")");
  VG_CHECK(c.width > 0 && c.height > 0, "camera ", c.id, " has size ", c.width, "x", c.height);
}

ColmapCamera convert_camera(const ColmapCamera& c, const std::string& model) {
  const int from = colmap_model_id(c.model), to = colmap_model_id(model);
  VG_CHECK(camera_model_supported(to), "unknown camera model '", model, "'");
  if (from == to) return c;
  const std::vector<int> fi = camera_focal_idxs(from), pi = camera_pp_idxs(from), ei = camera_extra_idxs(from);
  const double fx = c.params[fi.front()], fy = c.params[fi.back()], f = 0.5 * (fx + fy);
  const double cx = c.params[pi[0]], cy = c.params[pi[1]];
  // Distortion in OPENCV's order (k1, k2, p1, p2); SIMPLE_RADIAL's k and RADIAL's k1 k2 are its first terms.
  double d[4] = {0, 0, 0, 0};
  for (size_t k = 0; k < ei.size() && k < 4; ++k) d[k] = c.params[ei[k]];
  ColmapCamera o = c;
  o.model = model;
  switch (to) {
    case 0: o.params = {f, cx, cy}; break;
    case 1: o.params = {fx, fy, cx, cy}; break;
    case 2: o.params = {f, cx, cy, d[0]}; break;
    case 3: o.params = {f, cx, cy, d[0], d[1]}; break;
    default: o.params = {fx, fy, cx, cy, d[0], d[1], d[2], d[3]}; break;
  }
  return o;
}

bool fit_camera_to_image(ColmapCamera& c, int64_t width, int64_t height, const std::string& image_name) {
  if (c.width == width && c.height == height) return false;
  const double sx = static_cast<double>(width) / static_cast<double>(c.width);
  const double sy = static_cast<double>(height) / static_cast<double>(c.height);
  VG_CHECK(std::abs(sx / sy - 1) < 0.01, "camera ", c.id, " is ", c.width, "x", c.height, " but image '", image_name,
           "' is ", width, "x", height, " (another aspect ratio): the initial model does not fit these photos");
  const int model = colmap_model_id(c.model);
  const std::vector<int> fi = camera_focal_idxs(model), pi = camera_pp_idxs(model);
  if (fi.size() == 2) c.params[fi[0]] *= sx, c.params[fi[1]] *= sy;
  else c.params[fi[0]] *= 0.5 * (sx + sy);
  c.params[pi[0]] *= sx;
  c.params[pi[1]] *= sy;
  c.width = width;
  c.height = height;
  return true;
}

CameraSetup setup_cameras(const std::vector<ColmapCamera>& cameras, const std::vector<std::pair<int, int>>& sizes,
                          const std::vector<std::string>& names, const std::string& model, bool single_camera) {
  CameraSetup s;
  const size_t n = cameras.size();
  std::map<uint32_t, ColmapCamera> fitted;  // by initial camera id
  int rescaled = 0, converted = 0;
  for (size_t i = 0; i < n; ++i) {
    ColmapCamera c = cameras[i];
    check_camera(c);
    if (fit_camera_to_image(c, sizes[i].first, sizes[i].second, names[i])) ++rescaled;
    if (!model.empty() && c.model != model) c = convert_camera(c, model), ++converted;
    auto [it, fresh] = fitted.emplace(c.id, c);
    if (!fresh) VG_CHECK(it->second.width == c.width && it->second.height == c.height, "camera ", c.id,
                         " is shared by images of different sizes ('", names[i], "' is ", c.width, "x", c.height, ")");
    s.image_camera.push_back(c.id);
  }
  if (rescaled) s.notes.push_back(std::to_string(rescaled) + " image(s) are not the size of their initial camera: "
                                  "intrinsics scaled to the photos");
  if (converted) s.notes.push_back(std::to_string(converted) + " image(s)' cameras converted to " + model);
  if (single_camera) {
    for (size_t i = 1; i < n; ++i)
      VG_CHECK(sizes[i] == sizes[0], "--single-camera needs images of one size: '", names[0], "' is ", sizes[0].first,
               "x", sizes[0].second, ", '", names[i], "' is ", sizes[i].first, "x", sizes[i].second);
    // One camera: the first image's, with the median of the initial focal lengths.
    ColmapCamera shared = fitted.at(s.image_camera[0]);
    const std::vector<int> fi = camera_focal_idxs(colmap_model_id(shared.model));
    for (int k : fi) {
      std::vector<double> f;
      for (const auto& [id, c] : fitted) f.push_back(c.params[k]);
      std::nth_element(f.begin(), f.begin() + static_cast<long>(f.size() / 2), f.end());
      shared.params[k] = f[f.size() / 2];
    }
    shared.id = 1;
    s.cameras[1] = shared;
    s.image_camera.assign(n, 1);
    if (fitted.size() > 1) s.notes.push_back(std::to_string(fitted.size()) + " initial cameras merged into one");
  } else {
    s.cameras = std::move(fitted);
  }
  return s;
}

}  // namespace vg::refine_detail
