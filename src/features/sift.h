// SIFT (Lowe, IJCV 2004): DoG scale space, sub-pixel extrema with peak and edge thresholds, orientation
// histograms, 4x4x8 descriptors, L1-root normalisation (RootSIFT, Arandjelovic & Zisserman 2012) quantised
// to uint8 as COLMAP stores them. Options and defaults as COLMAP's SiftExtractionOptions (max image 1600 here).
#pragma once
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "core/device.h"
#include "io/image.h"

namespace vg {

struct SiftOptions {
  int max_image_size = 1600;   // larger images are downscaled for extraction; keypoints map back to full size
  int max_num_features = 8192;  // as COLMAP: whole DoG levels from the coarsest until this many keypoints
  int first_octave = -1;
  int num_octaves = 4;
  int octave_resolution = 3;
  double peak_threshold = 0.02 / 3;  // COLMAP: 0.02 / octave_resolution
  double edge_threshold = 10.0;
  bool upright = false;
  int max_num_orientations = 2;
  bool root_sift = true;  // COLMAP normalization L1_ROOT
};

struct Keypoint {
  float x = 0, y = 0;          // pixels in the original image (COLMAP convention: centre of the top-left pixel = 0.5)
  float scale = 0, orientation = 0;
};

using SiftDescriptors = Eigen::Matrix<uint8_t, Eigen::Dynamic, 128, Eigen::RowMajor>;

struct FeatureSet {
  std::vector<Keypoint> keypoints;
  SiftDescriptors descriptors;  // one row per keypoint
};

// img: any channels (converted to grey as COLMAP: luminance). Device::cuda for the GPU implementation.
FeatureSet extract_sift(const Image& img, const SiftOptions& opt, const Device& device = Device::cpu());

}  // namespace vg
