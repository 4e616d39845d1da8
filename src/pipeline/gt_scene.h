// Ground-truth SfM scenes made here (issue 11): real photos used as textures on a few planar faces
// (a building front with a porch and angled side walls, or boxes on a ground square), ray-traced at
// exactly known cameras (pinhole, principal point off the image centre, optional radial distortion k1),
// with per-image exposure, sensor noise and JPEG compression. Output: images/NNNN.jpg and a
// transforms.json (instant-ngp: fl_x fl_y cx cy w h k1, camera-to-world in OpenGL axes) that
// tools/sfm_eval.sh and sfm_compare read as ground truth.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "io/image.h"
#include "io/undistort.h"

namespace vg::synth {

// A planar face: the points origin + a u + b v for a, b in [0, 1]; texel (a W, b H) of `texture`
// (b = 0 is the texture's top row).
struct Quad {
  Eigen::Vector3d origin, u, v;
  int texture = 0;
};

// A texture with its box-filtered mip levels (level k is 2^k times smaller).
struct Texture {
  std::vector<Image> levels;  // RGB
};
Texture make_texture(const Image& rgb);

struct Scene {
  std::vector<Quad> quads;
  std::vector<Texture> textures;
  Eigen::Vector3d sky_top{0.62, 0.72, 0.86}, sky_bottom{0.86, 0.89, 0.93};  // featureless background
};

struct View {
  Eigen::Matrix4d cam_from_world = Eigen::Matrix4d::Identity();  // OpenCV axes (x right, y down, z forward)
  double gain = 1.0;                                             // exposure of this photo
};

struct RenderSettings {
  Intrinsics K;       // pixel centres at +0.5 (COLMAP's convention)
  Distortion dist;    // OpenCV model; k1 (and k2) radial
  int supersample = 2;
  double noise_sigma = 1.5 / 255;  // Gaussian sensor noise per channel, after the gain
  unsigned seed = 1;
};

// Colour along a world ray (o, unit d): the nearest quad's texture, trilinear in its mip levels by the
// ray's footprint (`pixel_angle` radians per pixel), else the sky gradient.
Eigen::Vector3d shade(const Scene& s, const Eigen::Vector3d& o, const Eigen::Vector3d& d, double pixel_angle);

// The view's photo: supersampled rays through the distorted pixel grid, gain, noise; RGB in [0,1].
Image render(const Scene& s, const View& v, const RenderSettings& r, unsigned image_seed);

// Named scenes (presets): facade-15 (15 views on a 50 deg arc in front of a building front, like the Strecha
// sets), facade-wide-8 (8 views over 110 deg), object-24 (24 views on two rings around boxes on a ground square,
// radial distortion), object-10 (10 views, one ring). Textures: the given photos (at least 4, up to 16), face k
// showing photo k mod their number.
struct Preset {
  Scene scene;
  std::vector<View> views;
  RenderSettings settings;
};
Preset make_preset(const std::string& name, const std::vector<Image>& photos);
std::vector<std::string> preset_names();

// Renders every view into dir/images/NNNN.jpg (quality 92, 4:2:0) and writes dir/transforms.json.
void write_scene(const std::filesystem::path& dir, const Preset& p);

}  // namespace vg::synth
