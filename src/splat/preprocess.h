// Per-Gaussian preprocessing for one camera, fused as in gsplat's fully-fused projection:
//   EWA projection (Zwicker et al. 2001; 3DGS eq. 5) of the 3D covariance R S S^T R^T to a 2D conic,
//   the 0.3 px low-pass dilation (and the antialiased opacity compensation of Mip-Splatting / gsplat),
//   near/far culling, 3-sigma radii, opacity activation and SH -> RGB (+0.5, clamp >= 0).
// Two implementations behind one call: a multithreaded C++ reference (CPU tensors) and CUDA kernels
// (CUDA tensors). Backward gives exact gradients for every parameter.
#pragma once
#include "core/tensor.h"
#include "splat/camera.h"
#include "splat/gaussians.h"

namespace vg {

struct PreprocessSettings {
  float eps2d = 0.3f;        // low-pass dilation added to the 2D covariance diagonal (px^2)
  float near_plane = 0.01f;  // culled when depth < near or > far
  float far_plane = 1e10f;
  float radius_clip = 0.0f;  // culled when the radius (px) is <= this
  bool antialiased = false;  // multiply opacity by sqrt(det(cov2d) / det(cov2d + eps2d I))
  int sh_degree = 3;         // SH degree used this step (<= the model's max degree)
};

struct PreprocessOut {
  Tensor radii;          // i32 [N,2] x/y pixel radii; 0 = culled (not visible)
  Tensor means2d;        // [N,2] projected centre (px)
  Tensor depths;         // [N]   camera-space z
  Tensor conics;         // [N,3] inverse 2D covariance (a, b, c) = [[a b][b c]]
  Tensor compensations;  // [N]   antialiasing factor (1 when !antialiased)
  Tensor opacities;      // [N]   sigmoid(logit) * compensation
  Tensor colors;         // [N,3] max(SH(dir) + 0.5, 0), dir = normalise(mean - camera position)
};

PreprocessOut preprocess_forward(const Gaussians& g, const Camera& cam, const PreprocessSettings& s);

// Gradients flowing into the preprocess outputs (from the rasterizer).
struct PreprocessGradsIn {
  Tensor v_means2d;    // [N,2]
  Tensor v_conics;     // [N,3]
  Tensor v_opacities;  // [N]
  Tensor v_colors;     // [N,3]
};

// Writes (overwrites) d loss / d parameter into `grads` (same shapes as `g`; allocated by the caller).
// Culled Gaussians (radii == 0) get zero gradients. With `v_viewmat` (camera pose optimisation) it is
// set to d loss / d cam.viewmat, F32 [4,4] on the Gaussians' device (bottom row 0), through the
// projection and through the camera centre of the SH view direction; nullptr: not computed, no cost.
void preprocess_backward(const Gaussians& g, const Camera& cam, const PreprocessSettings& s,
                         const PreprocessOut& fwd, const PreprocessGradsIn& v, GaussianGrads& grads,
                         Tensor* v_viewmat = nullptr);

}  // namespace vg
