// World-space normalisation of gsplat's examples/datasets/normalize.py (from nerf-factory):
// rotate so the mean camera up is +z, centre on the cameras' focus, scale by the median camera
// distance; then align the point cloud's principal axes.
#pragma once
#include <vector>

#include <Eigen/Core>

namespace vg {

using Mat4List = std::vector<Eigen::Matrix4d>;

// Similarity (4x4) from camera-to-world matrices in OpenCV axes.
Eigen::Matrix4d similarity_from_cameras(const Mat4List& camtoworlds);
// Rigid transform putting the points' median at the origin and their principal axes on x, y, z
// (largest variance first). `points` is [P*3].
Eigen::Matrix4d align_principal_axes(const std::vector<double>& points);
// T applied to camera-to-world matrices, rotations renormalised (gsplat transform_cameras).
Mat4List transform_cameras(const Eigen::Matrix4d& T, const Mat4List& camtoworlds);
// T applied to points [P*3] in place.
void transform_points(const Eigen::Matrix4d& T, std::vector<double>& points);

// The whole of gsplat's Parser normalisation: T1 = similarity_from_cameras, and when points are
// given T2 = align_principal_axes and the upside-down fix (flip when median z > mean z).
// Transforms cameras and points in place and returns the combined transform.
Eigen::Matrix4d normalize_world_space(Mat4List& camtoworlds, std::vector<double>& points);

// np.median: the mean of the two middle values for an even count.
double median(std::vector<double> v);

}  // namespace vg
