// Camera set-up of the refine stage (internal): the initial model's cameras checked, rescaled to the
// photos' size, converted to the asked model and optionally shared.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "io/colmap.h"

namespace vg::refine_detail {

// The camera `c` as another COLMAP model: focal lengths (mean when collapsing fx, fy), principal point, and
// the distortion terms both models have (the others zero).
ColmapCamera convert_camera(const ColmapCamera& c, const std::string& model);
// `c` for an image of width x height: intrinsics scaled when the aspect ratio is kept (1 %), else vg::Error.
// Returns true when it had to scale.
bool fit_camera_to_image(ColmapCamera& c, int64_t width, int64_t height, const std::string& image_name);
// Throws vg::Error naming the camera when its model is unknown or a parameter is missing, non-finite or a
// focal length not positive.
void check_camera(const ColmapCamera& c);

struct CameraSetup {
  std::map<uint32_t, ColmapCamera> cameras;  // by id
  std::vector<uint32_t> image_camera;        // per image (input order)
  std::vector<std::string> notes;            // what was changed, one line each
};
// sizes[i]: image i's decoded size; names[i]: its file name; cameras[i]: its initial camera.
CameraSetup setup_cameras(const std::vector<ColmapCamera>& cameras, const std::vector<std::pair<int, int>>& sizes,
                          const std::vector<std::string>& names, const std::string& model, bool single_camera);

}  // namespace vg::refine_detail
