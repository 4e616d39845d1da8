#include "io/transforms.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "io/image.h"

namespace vg {

namespace {

using json = nlohmann::json;

// A number from the frame, else the top level, else `fallback` (NaN: required).
double number(const json& frame, const json& top, const char* key, double fallback) {
  for (const json* j : {&frame, &top}) {
    auto it = j->find(key);
    if (it != j->end() && it->is_number()) return it->get<double>();
  }
  return fallback;
}

std::filesystem::path resolve_image(const std::filesystem::path& json_path, const std::string& file_path) {
  const std::filesystem::path base = json_path.parent_path() / file_path;
  if (std::filesystem::is_regular_file(base)) return base;
  for (const char* ext : {".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG"}) {
    std::filesystem::path p = base;
    p += ext;
    if (std::filesystem::is_regular_file(p)) return p;
  }
  VG_FAIL("image '", file_path, "' listed in ", json_path.string(), " not found (tried ", base.string(),
          " and .png/.jpg/.jpeg)");
}

TransformsFrame parse_frame(const std::filesystem::path& path, const json& top, const json& f, size_t index) {
  TransformsFrame fr;
  VG_CHECK(f.contains("file_path") && f["file_path"].is_string(), "frame ", index, " in ", path.string(),
           " has no file_path");
  fr.image_path = resolve_image(path, f["file_path"].get<std::string>());
  fr.name = std::filesystem::relative(fr.image_path, path.parent_path()).lexically_normal().generic_string();
  const json& m = f.value("transform_matrix", json());
  VG_CHECK(m.is_array() && m.size() >= 3, "frame ", index, " in ", path.string(), " has no 4x4 transform_matrix");
  fr.camtoworld = Eigen::Matrix4d::Identity();
  for (int r = 0; r < static_cast<int>(m.size()) && r < 4; ++r) {
    VG_CHECK(m[r].is_array() && m[r].size() == 4, "frame ", index, " in ", path.string(),
             ": transform_matrix rows must have 4 numbers");
    for (int c = 0; c < 4; ++c) {
      VG_CHECK(m[r][c].is_number(), "frame ", index, " in ", path.string(), ": transform_matrix has a non-number");
      fr.camtoworld(r, c) = m[r][c].get<double>();
    }
  }
  VG_CHECK(fr.camtoworld.allFinite(), "frame ", index, " in ", path.string(), ": transform_matrix is not finite");
  fr.camtoworld.block<3, 1>(0, 1) *= -1;  // OpenGL (y up, z back) -> OpenCV (y down, z forward)
  fr.camtoworld.block<3, 1>(0, 2) *= -1;

  double w = number(f, top, "w", NAN), h = number(f, top, "h", NAN);
  if (!std::isfinite(w) || !std::isfinite(h)) {
    const ImageInfo info = read_image_info(fr.image_path);
    w = info.width, h = info.height;
  }
  fr.K.width = static_cast<int>(std::lround(w));
  fr.K.height = static_cast<int>(std::lround(h));
  const double ax = number(f, top, "camera_angle_x", NAN), ay = number(f, top, "camera_angle_y", NAN);
  fr.K.fx = number(f, top, "fl_x", std::isfinite(ax) ? 0.5 * w / std::tan(0.5 * ax) : NAN);
  fr.K.fy = number(f, top, "fl_y", std::isfinite(ay) && !f.contains("fl_x") && !top.contains("fl_x")
                                        ? 0.5 * h / std::tan(0.5 * ay)
                                        : fr.K.fx);
  fr.K.cx = number(f, top, "cx", 0.5 * w);
  fr.K.cy = number(f, top, "cy", 0.5 * h);
  fr.dist = {number(f, top, "k1", 0), number(f, top, "k2", 0), number(f, top, "p1", 0), number(f, top, "p2", 0),
             number(f, top, "k3", 0)};
  const double vals[] = {fr.K.fx, fr.K.fy, fr.K.cx, fr.K.cy, fr.dist.k1, fr.dist.k2, fr.dist.p1, fr.dist.p2, fr.dist.k3};
  for (double v : vals)
    VG_CHECK(std::isfinite(v), "frame ", index, " in ", path.string(),
             ": intrinsics missing or not finite (need fl_x or camera_angle_x)");
  VG_CHECK(fr.K.width > 0 && fr.K.height > 0 && fr.K.fx > 0 && fr.K.fy > 0, "frame ", index, " in ", path.string(),
           ": bad intrinsics ", fr.K.width, "x", fr.K.height, " focal ", fr.K.fx);
  return fr;
}

}  // namespace

std::vector<TransformsFrame> read_transforms(const std::filesystem::path& path) {
  json top;
  try {
    top = json::parse(read_file(path));
  } catch (const json::exception& e) {
    VG_FAIL("cannot parse ", path.string(), ": ", e.what());
  }
  VG_CHECK(top.is_object() && top.contains("frames") && top["frames"].is_array(), "no 'frames' array in ",
           path.string());
  std::vector<TransformsFrame> frames;
  for (size_t i = 0; i < top["frames"].size(); ++i) frames.push_back(parse_frame(path, top, top["frames"][i], i));
  VG_CHECK(!frames.empty(), "no frames in ", path.string());
  return frames;
}

}  // namespace vg
