// COLMAP camera models (SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV): projection of camera-frame
// points to pixels and the inverse, templated on the scalar so bundle adjustment can differentiate them.
// Parameter order as COLMAP's src/colmap/sensor/models.h.
#pragma once
#include <Eigen/Core>

#include "io/colmap.h"

namespace vg {

// Model ids as COLMAP: 0 SIMPLE_PINHOLE, 1 PINHOLE, 2 SIMPLE_RADIAL, 3 RADIAL, 4 OPENCV.
bool camera_model_supported(int model_id);
// Index of the focal length(s) / principal point / extra parameters in `params` for a model.
std::vector<int> camera_focal_idxs(int model_id);
std::vector<int> camera_pp_idxs(int model_id);
std::vector<int> camera_extra_idxs(int model_id);
// A default camera for an image of this size: focal = focal_factor * max(W,H) (COLMAP's 1.2), pp at the centre.
ColmapCamera default_camera(const std::string& model, int width, int height, double focal_factor = 1.2);

// Pixel from a point in the camera frame (z > 0). T = double or a Jet/autodiff type.
template <typename T>
Eigen::Matrix<T, 2, 1> camera_project(int model_id, const T* params, const Eigen::Matrix<T, 3, 1>& p_cam);
// Normalised image coordinates (x/z, y/z, undistorted) from a pixel (iterative for distorted models).
Eigen::Vector2d camera_unproject(const ColmapCamera& cam, const Eigen::Vector2d& pixel);
// Pixel error threshold -> normalised-coordinate threshold (divide by the mean focal length).
double camera_image_to_world_threshold(const ColmapCamera& cam, double pixels);

}  // namespace vg

#include "geometry/camera_models_impl.h"  // template definitions
