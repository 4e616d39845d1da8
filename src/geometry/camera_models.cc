// COLMAP camera models: parameter layouts, default cameras and the iterative inverse of the distortion.
#include "geometry/camera_models.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

namespace vg {

bool camera_model_supported(int model_id) { return model_id >= 0 && model_id <= 4; }

static void check_model(int model_id) {
  VG_CHECK(camera_model_supported(model_id), "camera model ", model_id,
           " is not supported (SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV are)");
}

std::vector<int> camera_focal_idxs(int model_id) {
  check_model(model_id);
  if (model_id == 1 || model_id == 4) return {0, 1};
  return {0};
}

std::vector<int> camera_pp_idxs(int model_id) {
  check_model(model_id);
  if (model_id == 1 || model_id == 4) return {2, 3};
  return {1, 2};
}

std::vector<int> camera_extra_idxs(int model_id) {
  check_model(model_id);
  switch (model_id) {
    case 2: return {3};
    case 3: return {3, 4};
    case 4: return {4, 5, 6, 7};
    default: return {};
  }
}

ColmapCamera default_camera(const std::string& model, int width, int height, double focal_factor) {
  const int id = colmap_model_id(model);
  check_model(id);
  VG_CHECK(width > 0 && height > 0, "default_camera: bad image size ", width, "x", height);
  ColmapCamera cam;
  cam.model = model;
  cam.width = width;
  cam.height = height;
  cam.params.assign(colmap_num_params(id), 0.0);
  const double f = focal_factor * std::max(width, height);
  for (int i : camera_focal_idxs(id)) cam.params[i] = f;
  const std::vector<int> pp = camera_pp_idxs(id);
  cam.params[pp[0]] = width / 2.0;
  cam.params[pp[1]] = height / 2.0;
  return cam;
}

static int checked_model(const ColmapCamera& cam) {
  const int id = colmap_model_id(cam.model);
  check_model(id);
  VG_CHECK(static_cast<int>(cam.params.size()) == colmap_num_params(id), "camera ", cam.id, " (", cam.model, ") has ",
           cam.params.size(), " parameters, expected ", colmap_num_params(id));
  return id;
}

// Inverse of the distortion by Newton's method on (u + du(u,v), v + dv(u,v)) = (ud, vd), as COLMAP's
// IterativeUndistortion (numerical Jacobian, at most 100 steps).
static Eigen::Vector2d undistort(int id, const double* extra, const Eigen::Vector2d& xd) {
  auto distort = [&](const Eigen::Vector2d& x) {
    double du, dv;
    detail::camera_distortion(id, extra, x(0), x(1), &du, &dv);
    return Eigen::Vector2d(x(0) + du, x(1) + dv);
  };
  Eigen::Vector2d x = xd;
  for (int it = 0; it < 100; ++it) {
    const Eigen::Vector2d r = distort(x) - xd;
    if (r.squaredNorm() < 1e-30) break;
    Eigen::Matrix2d J;
    for (int k = 0; k < 2; ++k) {
      const double h = std::max(1e-10, std::abs(x(k)) * 1e-6);
      Eigen::Vector2d xp = x, xm = x;
      xp(k) += h;
      xm(k) -= h;
      J.col(k) = (distort(xp) - distort(xm)) / (2 * h);
    }
    const Eigen::Vector2d step = J.partialPivLu().solve(r);
    x -= step;
    if (step.squaredNorm() < 1e-28 * (1 + x.squaredNorm())) break;
  }
  return x;
}

Eigen::Vector2d camera_unproject(const ColmapCamera& cam, const Eigen::Vector2d& pixel) {
  const int id = checked_model(cam);
  const double* p = cam.params.data();
  switch (id) {
    case 0: return {(pixel(0) - p[1]) / p[0], (pixel(1) - p[2]) / p[0]};
    case 1: return {(pixel(0) - p[2]) / p[0], (pixel(1) - p[3]) / p[1]};
    case 2:
    case 3: return undistort(id, p + 3, {(pixel(0) - p[1]) / p[0], (pixel(1) - p[2]) / p[0]});
    default: return undistort(id, p + 4, {(pixel(0) - p[2]) / p[0], (pixel(1) - p[3]) / p[1]});
  }
}

double camera_image_to_world_threshold(const ColmapCamera& cam, double pixels) {
  const int id = checked_model(cam);
  double f = 0;
  const std::vector<int> idx = camera_focal_idxs(id);
  for (int i : idx) f += cam.params[i];
  f /= static_cast<double>(idx.size());
  VG_CHECK(f > 0, "camera ", cam.id, " has a non-positive focal length");
  return pixels / f;
}

}  // namespace vg
