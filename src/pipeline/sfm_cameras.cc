#include "pipeline/sfm_cameras.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "core/error.h"
#include "geometry/camera_models.h"

namespace vg {

CameraMode parse_camera_mode(const std::string& name) {
  if (name == "auto") return CameraMode::Auto;
  if (name == "per-image") return CameraMode::PerImage;
  if (name == "single") return CameraMode::Single;
  VG_FAIL("unknown --camera-mode '", name, "' (auto, per-image or single)");
}

const char* camera_mode_name(CameraMode mode) {
  switch (mode) {
    case CameraMode::Auto: return "auto";
    case CameraMode::PerImage: return "per-image";
    case CameraMode::Single: return "single";
  }
  return "auto";
}

std::string default_camera_model(CameraMode mode) {
  return mode == CameraMode::PerImage ? "PINHOLE" : "SIMPLE_RADIAL";
}

namespace {

// COLMAP's ExifCameraModel: make, model and the focal length (35 mm equivalent first); empty when one is missing.
std::string exif_camera(const std::optional<ExifInfo>& e) {
  if (!e || e->make.empty() || e->model.empty()) return "";
  const double focal = e->focal_35mm > 0 ? e->focal_35mm : e->focal_mm;
  if (focal <= 0) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g%s", focal, e->focal_35mm > 0 ? " mm (35 mm equiv.)" : " mm");
  return e->make + "|" + e->model + "|" + buf;
}

CameraGroup new_group(const CameraImageInfo& im, const std::string& model, double focal_factor, std::string key) {
  CameraGroup g;
  g.camera = default_camera(model, im.width, im.height, focal_factor);
  g.focal_source = "default";
  g.exif_camera = std::move(key);
  if (im.exif) {
    if (const auto f = exif_focal_px(*im.exif, im.width, im.height); f && f->focal_px > 0) {
      for (int k : camera_focal_idxs(colmap_model_id(model))) g.camera.params[static_cast<size_t>(k)] = f->focal_px;
      g.prior_focal = true;
      g.focal_source = f->source;
    }
  }
  return g;
}

}  // namespace

CameraSetup make_camera_setup(const std::vector<CameraImageInfo>& images, CameraMode mode, std::string model,
                              double focal_factor) {
  CameraSetup s;
  s.mode = mode;
  s.model = model.empty() ? default_camera_model(mode) : std::move(model);
  VG_CHECK(colmap_model_id(s.model) >= 0, "unknown camera model '", s.model, "'");
  VG_CHECK(focal_factor > 0, "the default focal factor must be > 0, got ", focal_factor);
  std::map<std::tuple<int, int, std::string>, int> group_of_key;  // (w, h, EXIF camera) -> group
  for (size_t i = 0; i < images.size(); ++i) {
    const CameraImageInfo& im = images[i];
    VG_CHECK(im.width > 0 && im.height > 0, "image ", im.name, " has no size (", im.width, "x", im.height, ")");
    const std::string key = exif_camera(im.exif);
    int g = -1;
    if (mode == CameraMode::Single && !s.groups.empty()) {
      const ColmapCamera& c = s.groups[0].camera;
      VG_CHECK(im.width == c.width && im.height == c.height, "--camera-mode single needs images of one size: ",
               images[static_cast<size_t>(s.groups[0].images[0])].name, " is ", c.width, "x", c.height, ", ", im.name,
               " is ", im.width, "x", im.height, " (use --camera-mode auto)");
      g = 0;
    } else if (mode == CameraMode::Auto) {
      auto it = group_of_key.find({im.width, im.height, key});
      if (it != group_of_key.end()) g = it->second;
    }
    if (g < 0) {
      g = static_cast<int>(s.groups.size());
      s.groups.push_back(new_group(im, s.model, focal_factor, key));
      s.groups.back().camera.id = static_cast<uint32_t>(g + 1);
      if (mode == CameraMode::Auto) group_of_key[{im.width, im.height, key}] = g;
    }
    s.groups[static_cast<size_t>(g)].images.push_back(static_cast<int>(i));
    s.groups[static_cast<size_t>(g)].image_names.push_back(im.name);
    s.group_of_image.push_back(g);
  }
  return s;
}

}  // namespace vg
