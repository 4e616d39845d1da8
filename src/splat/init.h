// Gaussian initialisation as gsplat's create_splats_with_optimizers: one Gaussian per point, isotropic
// scale = log(init_scale * sqrt(mean squared distance to the 3 nearest neighbours)), random
// (unnormalised) quaternions in [0,1)^4, opacity logit(init_opa), sh0 from the RGB colour, shN zero.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "io/dataset.h"
#include "splat/gaussians.h"
#include "splat/train_config.h"

namespace vg {

// For every point of `xyz` ([P*3]): sqrt(mean of the squared distances to its k nearest other points),
// with the mean clamped to >= 1e-7 as 3DGS's distCUDA2 (duplicates stay finite). k-d tree, threaded.
std::vector<float> knn_mean_dist(const std::vector<float>& xyz, int k = 3);

// Uniform points in the cube [-half_extent, half_extent]^3 and uniform colours in [0,1).
void random_points(int n, float half_extent, std::mt19937_64& rng, std::vector<float>& xyz, std::vector<float>& rgb);

// CPU Gaussians from points and colours in [0,1] ([P*3] each).
Gaussians init_gaussians(const std::vector<float>& xyz, const std::vector<float>& rgb, int sh_degree, float init_opa,
                         float init_scale, std::mt19937_64& rng);

// The trainer's initialisation: --init-type sfm (dataset points) or random (+-init_aabb, else
// +-init_extent * scene_scale). Throws vg::Error when sfm is asked for a dataset without points.
Gaussians init_from_config(const TrainConfig& cfg, const Dataset& data, float scene_scale, std::mt19937_64& rng);

}  // namespace vg
