// Internal to io/dataset_sources.cc: LLFF scenes (<dir>/poses_bounds.npy + <dir>/images/), the layout of
// the NeRF forward-facing data (fern, flower, ...).
// poses_bounds.npy is float64 (N, 17): per image a row-major 3x5 matrix [R | t | (H, W, f)] then the near
// and far depth bounds. R's columns are the camera's (down, right, back) axes in world coordinates, t its
// position; H, W, f are the height, width and focal length of the full-resolution photos. Row i belongs to
// the i-th image of images/ in sorted name order (.jpg/.jpeg/.png, any case).
#pragma once
#include <filesystem>

#include "io/dataset_sources.h"

namespace vg::detail {

// Cameras of an LLFF scene (source "llff", no 3D points): OpenCV camera-to-world, focal f scaled to the
// image files' width, principal point at the image centre, no distortion, one shared camera.
RawScene read_llff(const std::filesystem::path& dir);

}  // namespace vg::detail
