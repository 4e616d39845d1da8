// A pinhole camera as the rasterizer sees it: world-to-camera `viewmat` (OpenCV axes: x right,
// y down, z forward) and intrinsics in pixels.
#pragma once
#include <array>

namespace vg {

struct Camera {
  std::array<float, 16> viewmat{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};  // row-major 4x4, world -> camera
  float fx = 1, fy = 1, cx = 0, cy = 0;
  int width = 0, height = 0;

  // Camera centre in world coordinates: -R^T t.
  std::array<float, 3> position() const {
    const auto& m = viewmat;
    return {-(m[0] * m[3] + m[4] * m[7] + m[8] * m[11]), -(m[1] * m[3] + m[5] * m[7] + m[9] * m[11]),
            -(m[2] * m[3] + m[6] * m[7] + m[10] * m[11])};
  }
};

}  // namespace vg
