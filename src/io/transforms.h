// NeRF / instant-ngp transforms.json: per-frame camera-to-world (OpenGL axes) with shared or
// per-frame intrinsics (fl_x fl_y cx cy w h k1 k2 p1 p2, or camera_angle_x).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "io/undistort.h"

namespace vg {

struct TransformsFrame {
  std::string name;                  // file path relative to the json's folder, extension resolved
  std::filesystem::path image_path;  // absolute / joined path of the image
  Eigen::Matrix4d camtoworld;        // OpenCV axes (x right, y down, z forward)
  Intrinsics K;                      // width/height from w/h, else from the image header
  Distortion dist;                   // k1 k2 p1 p2 (k3 if given)
};

// Reads one transforms file; throws vg::Error naming it for missing keys, missing images,
// non-finite values. file_path without an extension tries .png, .jpg, .jpeg.
std::vector<TransformsFrame> read_transforms(const std::filesystem::path& json_path);

}  // namespace vg
