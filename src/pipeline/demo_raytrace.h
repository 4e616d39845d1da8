// The demo scene, ray-traced analytically (independent of the Gaussian rasterizer): a checkered
// sphere and a striped box standing on a checkered ground disk, Lambert shading under one
// directional light with hard shadows plus ambient, black background. World z is up.
#pragma once
#include <array>

#include "io/image.h"
#include "splat/camera.h"

namespace vg::demo {

// All geometry lies in this box (half-sizes around the origin): |x|,|y| <= 1.2, 0 <= z <= 0.8.
constexpr float kSceneHalfExtent = 1.2f;

// Colour seen along a ray (origin o, unit direction d); black where nothing is hit.
std::array<float, 3> trace_ray(const std::array<double, 3>& o, const std::array<double, 3>& d);

// Renders `cam` (OpenCV pinhole, pixel centres at +0.5) with ss x ss supersampling; RGB in [0,1].
Image render_view(const Camera& cam, int supersample);

}  // namespace vg::demo
