// Undistortion of OpenCV radial-tangential cameras (k1 k2 p1 p2 [k3]) once at load, as gsplat's
// COLMAP parser does with cv2.getOptimalNewCameraMatrix(alpha=0) + initUndistortRectifyMap +
// remap(INTER_LINEAR) + ROI crop; implemented natively (no OpenCV).
#pragma once
#include <array>
#include <vector>

#include "io/image.h"

namespace vg {

struct Intrinsics {
  double fx = 1, fy = 1, cx = 0, cy = 0;
  int width = 0, height = 0;
};

struct Distortion {
  double k1 = 0, k2 = 0, p1 = 0, p2 = 0, k3 = 0;
  bool any() const { return k1 != 0 || k2 != 0 || p1 != 0 || p2 != 0 || k3 != 0; }
  // Normalised undistorted (x, y) -> distorted (OpenCV's model).
  std::array<double, 2> distort(double x, double y) const;
};

// Distorted pixel -> undistorted normalised coordinates, OpenCV's undistortPoints fixed-point
// iteration (5 iterations, as cv::undistortPoints' default criteria).
std::array<double, 2> undistort_point(const Intrinsics& K, const Distortion& d, double u, double v);

struct Undistorter {
  Intrinsics src;        // the distorted camera (image size it applies to)
  Distortion dist;
  Intrinsics dst;        // the undistorted, cropped camera: cx, cy relative to the crop
  std::array<int, 4> roi{0, 0, 0, 0};  // x, y, w, h of the valid region in the remapped image
  std::vector<float> mapx, mapy;       // [src.height * src.width] source pixel for each output pixel

  // Remaps (bilinear, zero outside) and crops to roi: [dst.height, dst.width, channels].
  Image apply(const Image& img) const;
};

Undistorter make_undistorter(const Intrinsics& K, const Distortion& d);

}  // namespace vg
