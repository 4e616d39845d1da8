// Renders for videos and image folders, as gsplat's simple_trainer.py render_traj: a camera path from
// the dataset's cameras (geometry/trajectory.h), each frame rendered as RGB and expected depth
// ("RGB+ED"), RGB | min-max normalised depth side by side, 30 fps MP4 (io/video.h).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/dataset.h"
#include "io/video.h"
#include "splat/camera.h"
#include "splat/gaussians.h"
#include "splat/train_config.h"

namespace vg {

enum class TrajPath { kInterp, kEllipse, kSpiral };

// "interp" | "ellipse" | "spiral"; anything else throws one line.
TrajPath parse_traj_path(const std::string& name);

// Train and test views together, sorted by image name (gsplat's parser order).
std::vector<const View*> all_views(const Dataset& d);

// simple_trainer render_traj's cameras: the views without the first and last five (all of them when
// there are ten or fewer), turned into a path; intrinsics and size of the first view. scene_scale is
// the trainer's (parser scale x 1.1 x global_scale): the spiral's bounds are [0.01, 1] x scene_scale.
std::vector<Camera> trajectory_cameras(const Dataset& d, TrajPath path, float scene_scale);

struct RgbdRender {
  Tensor rgb;    // [H,W,3] on the CPU, clamped to [0,1]
  Tensor depth;  // [H,W] expected depth: sum(w_i z_i) / max(alpha, 1e-10)
  Tensor alpha;  // [H,W] 1 - final transmittance
};
// One render of `g` (on any device) from `cam` with cfg's background, near / far planes and antialiasing.
RgbdRender render_rgbd(const Gaussians& g, const Camera& cam, int sh_degree, const TrainConfig& cfg);

// [H, 2W] 8-bit frame: RGB | depth normalised to [0,1] over the frame, truncated as numpy's astype(uint8).
RgbFrame rgb_depth_canvas(const RgbdRender& r);

// Renders every camera and writes the side-by-side frames to `path` (MP4, 30 fps), with a progress bar.
void write_trajectory_video(const std::filesystem::path& path, const Gaussians& g, const std::vector<Camera>& cams,
                            int sh_degree, const TrainConfig& cfg);

}  // namespace vg
