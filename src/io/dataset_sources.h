// Internal to io/dataset.cc: the cameras of a dataset folder before validation, scaling,
// undistortion and normalisation, from a COLMAP model, transforms json files or LLFF's poses_bounds.npy.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "io/undistort.h"

namespace vg::detail {

struct RawView {
  std::string name;
  std::filesystem::path image_path;
  Eigen::Matrix4d camtoworld;  // OpenCV axes, original world
  Intrinsics K;
  Distortion dist;
  long camera = -1;            // views with the same camera share one undistortion map
  bool test = false;           // from the dataset's own split
};

struct RawScene {
  std::string source;          // "colmap", "transforms" or "llff"
  std::filesystem::path cameras_file;
  std::vector<RawView> views;
  std::vector<double> points;  // [P*3]
  std::vector<float> colors;   // [P*3] in [0,1]
  bool has_split = false;      // the split comes from the files (transforms_{train,test}.json)
};

// Reads what `dir` holds: sparse/0 or sparse (COLMAP), transforms_train/test.json, transforms.json,
// poses_bounds.npy (LLFF), in that order of preference.
RawScene read_scene(const std::filesystem::path& dir);

}  // namespace vg::detail
