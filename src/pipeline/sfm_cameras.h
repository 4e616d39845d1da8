// Camera set-up of the SfM stage (COLMAP's ImageReader): which images share a camera, its model and
// its initial focal length.
//   auto (default): images of one size whose EXIF names the same camera (make, model, focal length) share one
//                   camera; images without that EXIF share one camera per image size (video frames, a stripped
//                   photo set); model SIMPLE_RADIAL.
//   per-image:      one camera per image (the original P1's options); model PINHOLE.
//   single:         one camera for all images (they must have one size); model SIMPLE_RADIAL.
// The focal length starts from EXIF where it gives one (io/exif.h exif_focal_px, as COLMAP 3.8's
// Bitmap::ExifFocalLength: 35 mm equivalent f35 / 35 * max(W, H), else FocalLength with the sensor width from
// FocalPlaneXResolution) and the camera is marked as having a prior focal length (COLMAP's
// prior_focal_length: calibrated two-view geometry, no focal estimation at registration); otherwise
// focal_factor * max(W, H) (COLMAP's 1.2) without the prior. A shared camera takes its first image's focal.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/colmap.h"
#include "io/exif.h"

namespace vg {

enum class CameraMode { Auto, PerImage, Single };

// "auto" | "per-image" | "single"; anything else: vg::Error with one line naming the choices.
CameraMode parse_camera_mode(const std::string& name);
const char* camera_mode_name(CameraMode mode);
// The model a mode estimates when none is given: SIMPLE_RADIAL (auto, single) or PINHOLE (per-image).
std::string default_camera_model(CameraMode mode);

struct CameraImageInfo {
  std::string name;
  int width = 0, height = 0;
  std::optional<ExifInfo> exif;  // nullopt: no EXIF (or not a JPEG)
};

struct CameraGroup {
  ColmapCamera camera;           // initial intrinsics (id 1, 2, ... in order of first image)
  bool prior_focal = false;      // focal from EXIF
  std::string focal_source;      // "exif35" | "exif" | "default"
  std::string exif_camera;       // "make|model|focal" when the EXIF names the camera, else empty
  std::vector<int> images;       // indices into the input
  std::vector<std::string> image_names;
};

struct CameraSetup {
  CameraMode mode = CameraMode::Auto;
  std::string model;                 // the camera model used
  std::vector<CameraGroup> groups;   // one per camera
  std::vector<int> group_of_image;   // per input image: index into groups
};

// `model` empty: the mode's default. Throws vg::Error for `single` with images of several sizes.
CameraSetup make_camera_setup(const std::vector<CameraImageInfo>& images, CameraMode mode, std::string model,
                              double focal_factor = 1.2);

}  // namespace vg
