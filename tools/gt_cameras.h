// Ground-truth cameras for the evaluation tools (sfm_compare, perturb_model): a Strecha gt_dense_cameras folder
// (one "<image>.camera" per photo, src/io/strecha.h) or a NeRF/instant-ngp transforms.json (src/io/transforms.h),
// keyed by the image's file name ("0000.jpg"; transforms.json: the basename of file_path).
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include <Eigen/Core>

#include "io/strecha.h"
#include "io/transforms.h"
#include "io/undistort.h"

namespace vg::tools {

struct GtCamera {
  Eigen::Matrix4d cam_from_world = Eigen::Matrix4d::Identity();  // OpenCV / COLMAP axes
  Intrinsics K;      // fx fy cx cy, width height
  Distortion dist;   // Strecha: its 3 radial terms as k1 k2 k3 (zeros in the published set); fox: k1 k2 p1 p2
};

inline std::map<std::string, GtCamera> read_gt_cameras(const std::filesystem::path& gt) {
  std::map<std::string, GtCamera> out;
  if (std::filesystem::is_directory(gt)) {
    for (const auto& [name, cam] : read_strecha_cameras(gt)) {
      GtCamera& c = out[name];
      c.cam_from_world = cam.cam_from_world();
      c.K = {cam.K(0, 0), cam.K(1, 1), cam.K(0, 2), cam.K(1, 2), cam.width, cam.height};
      c.dist.k1 = cam.distortion[0];
      c.dist.k2 = cam.distortion[1];
      c.dist.k3 = cam.distortion[2];
    }
  } else {
    for (const TransformsFrame& f : read_transforms(gt)) {
      GtCamera& c = out[std::filesystem::path(f.name).filename().string()];
      c.cam_from_world = f.camtoworld.inverse();  // read_transforms already flipped to OpenCV axes
      c.K = f.K;
      c.dist = f.dist;
    }
  }
  return out;
}

}  // namespace vg::tools
