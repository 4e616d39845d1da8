// Template definitions for camera_models.h: COLMAP's ImgFromCam for each supported model.
// u = x/z, v = y/z; distortion (du, dv) added before the intrinsics (COLMAP models.h):
//   SIMPLE_RADIAL: radial = k r^2;  RADIAL: radial = k1 r^2 + k2 r^4;  du = u radial, dv = v radial
//   OPENCV: du = u radial + 2 p1 u v + p2 (r^2 + 2 u^2), dv = v radial + 2 p2 u v + p1 (r^2 + 2 v^2)
#pragma once
#include "core/error.h"

namespace vg {

namespace detail {
template <typename T>
void camera_distortion(int model_id, const T* extra, const T& u, const T& v, T* du, T* dv) {
  const T u2 = u * u, v2 = v * v, uv = u * v, r2 = u2 + v2;
  switch (model_id) {
    case 2: {  // SIMPLE_RADIAL: k
      const T radial = extra[0] * r2;
      *du = u * radial;
      *dv = v * radial;
      return;
    }
    case 3: {  // RADIAL: k1, k2
      const T radial = extra[0] * r2 + extra[1] * r2 * r2;
      *du = u * radial;
      *dv = v * radial;
      return;
    }
    case 4: {  // OPENCV: k1, k2, p1, p2
      const T radial = extra[0] * r2 + extra[1] * r2 * r2;
      *du = u * radial + T(2) * extra[2] * uv + extra[3] * (r2 + T(2) * u2);
      *dv = v * radial + T(2) * extra[3] * uv + extra[2] * (r2 + T(2) * v2);
      return;
    }
    default:
      *du = T(0);
      *dv = T(0);
  }
}
}  // namespace detail

// Pixel from normalised (undistorted) image coordinates u = x/z, v = y/z.
template <typename T>
Eigen::Matrix<T, 2, 1> camera_project_normalized(int model_id, const T* params, const T& u, const T& v) {
  T du(0), dv(0);
  switch (model_id) {
    case 0:  // SIMPLE_PINHOLE: f, cx, cy
      return Eigen::Matrix<T, 2, 1>(params[0] * u + params[1], params[0] * v + params[2]);
    case 1:  // PINHOLE: fx, fy, cx, cy
      return Eigen::Matrix<T, 2, 1>(params[0] * u + params[2], params[1] * v + params[3]);
    case 2:  // SIMPLE_RADIAL: f, cx, cy, k
    case 3:  // RADIAL: f, cx, cy, k1, k2
      detail::camera_distortion(model_id, params + 3, u, v, &du, &dv);
      return Eigen::Matrix<T, 2, 1>(params[0] * (u + du) + params[1], params[0] * (v + dv) + params[2]);
    case 4:  // OPENCV: fx, fy, cx, cy, k1, k2, p1, p2
      detail::camera_distortion(model_id, params + 4, u, v, &du, &dv);
      return Eigen::Matrix<T, 2, 1>(params[0] * (u + du) + params[2], params[1] * (v + dv) + params[3]);
    default:
      VG_FAIL("camera_project: unsupported camera model id ", model_id);
  }
}

template <typename T>
Eigen::Matrix<T, 2, 1> camera_project(int model_id, const T* params, const Eigen::Matrix<T, 3, 1>& p_cam) {
  const T u = p_cam(0) / p_cam(2), v = p_cam(1) / p_cam(2);
  return camera_project_normalized(model_id, params, u, v);
}

}  // namespace vg
