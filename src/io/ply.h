// PLY files: the INRIA 3D Gaussian Splatting layout (binary little-endian, as the original 3DGS
// save_ply and most viewers use) and plain coloured point clouds.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "splat/gaussians.h"

namespace vg {

// The vertex properties of a 3DGS PLY for SH degree `sh_degree`, in file order:
// x y z nx ny nz f_dc_0..2 f_rest_0..3(K-1)-1 opacity scale_0..2 rot_0..3.
std::vector<std::string> ply_3dgs_properties(int sh_degree);

// Writes CPU Gaussians (raw parameters: log-scales, logit opacity, unnormalised w,x,y,z quats).
// f_rest is channel-major (all R coefficients, then G, then B). `world_to_normalized` is the
// dataset's similarity transform (Dataset::transform); its inverse is applied so the file is in
// the original world frame: means mapped back, log-scales minus log(s), quats rotated by R^T.
// (SH coefficients of degree >= 1 are written as they are, i.e. not rotated.)
void write_ply_3dgs(const std::filesystem::path& path, const Gaussians& g,
                    const Eigen::Matrix4d& world_to_normalized = Eigen::Matrix4d::Identity());
// Reads a 3DGS PLY (binary little-endian; float/double/uchar... properties, any order, extras
// ignored) into CPU Gaussians. Throws vg::Error naming the file for anything malformed.
Gaussians read_ply_3dgs(const std::filesystem::path& path);

// A coloured point cloud: xyz [P*3], rgb [P*3] in [0,1] (empty: no colour), written as
// x y z (float) red green blue (uchar), binary little-endian or ascii. Atomic.
void write_points_ply(const std::filesystem::path& path, const std::vector<float>& xyz, const std::vector<float>& rgb,
                      bool binary = true);

}  // namespace vg
