// A training dataset: posed, undistorted, optionally downscaled images with a train/test split,
// the sparse points for initialisation and the world normalisation gsplat applies.
// Sources: a COLMAP model (sparse/0 or sparse, .bin or .txt) with images/, or transforms.json /
// transforms_{train,test}.json (NeRF synthetic, instant-ngp).
#pragma once
#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "core/tensor.h"
#include "splat/camera.h"

namespace vg {

struct Undistorter;  // io/undistort.h

struct DatasetOptions {
  std::filesystem::path dir;
  int data_factor = 1;       // downscale images (area) and intrinsics by this factor
  int test_every = 8;        // every N-th image is a test view, unless the dataset defines the split
  bool normalize = true;     // gsplat normalize_world_space (COLMAP datasets)
  std::array<float, 3> background{0, 0, 0};  // RGBA images are composited on this colour
};

struct View {
  std::string name;                  // image file name
  std::filesystem::path image_path;  // source file
  Camera camera;                     // in the normalised world, intrinsics of the loaded (undistorted, scaled) image
  // How load_image gets there: the file's decoded size, then area downscale, then undistortion.
  int file_width = 0, file_height = 0;
  int undistorter = -1;              // index into Dataset::undistorters, -1: no distortion
};

struct Dataset {
  std::vector<View> train, test;
  std::vector<float> points;   // [P*3] sparse points in the normalised world (empty if none)
  std::vector<float> colors;   // [P*3] their colours in [0,1]
  float scene_scale = 1.0f;    // max distance of a camera centre from their mean (gsplat parser.scene_scale)
  Eigen::Matrix4d transform = Eigen::Matrix4d::Identity();  // original world -> normalised world (similarity)
  std::string source;          // "colmap" or "transforms"

  // Loads the image for a view: F32 [H,W,3] in [0,1] on the CPU, undistorted, downscaled, RGBA composited.
  Tensor load_image(const View& v) const;
  std::array<float, 3> background{0, 0, 0};
  int data_factor = 1;
  std::vector<std::shared_ptr<const Undistorter>> undistorters;  // one per distorted camera
};

// Throws vg::Error with a one-line message naming the file for any bad input.
Dataset load_dataset(const DatasetOptions& opt);

}  // namespace vg
