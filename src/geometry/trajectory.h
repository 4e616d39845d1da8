// Camera paths for rendering videos from the training cameras, as gsplat's examples/datasets/traj.py
// (itself from multinerf camera_utils): a B-spline through the poses (interp), an ellipse around the
// focus point at constant height (ellipse), and a forward-facing spiral (spiral). Poses are
// camera-to-world [R | t] with OpenCV axes (x right, y down, z forward), as COLMAP / gsplat use.
#pragma once
#include <vector>

#include <Eigen/Core>

namespace vg::traj {

using Pose = Eigen::Matrix<double, 3, 4>;

// Look-at frame: z along `lookdir`, x = up x z, y = z x x, centred at `position` (traj.py viewmatrix).
Pose viewmatrix(const Eigen::Vector3d& lookdir, const Eigen::Vector3d& up, const Eigen::Vector3d& position);

// The point nearest (least squares) to every camera's optical axis (traj.py focus_point_fn).
Eigen::Vector3d focus_point(const std::vector<Pose>& poses);

// Mean position, mean z axis and mean y axis as one pose (traj.py average_pose).
Pose average_pose(const std::vector<Pose>& poses);

// numpy.percentile with linear interpolation, per coordinate.
Eigen::Vector3d percentile(const std::vector<Eigen::Vector3d>& v, double q);

// traj.py generate_interpolated_path: each pose as (position, position - w z, position + w y) with
// w = rot_weight, a degree-`degree` B-spline through those 9-vectors parametrised by chord length,
// sampled at n_interp * (n - 1) uniform parameters in [0, 1). The spline interpolates the poses exactly
// (FITPACK's s = 0 knots); gsplat passes smoothing s = 0.03 to splprep, which this does not reproduce.
std::vector<Pose> interpolated_path(const std::vector<Pose>& poses, int n_interp, int degree = 5,
                                    double rot_weight = 0.1);

// traj.py generate_ellipse_path_z: n_frames positions on the ellipse (90th percentile radii) around the
// focus point at z = height, looking at the focus point, up along the axis nearest the mean y axis.
std::vector<Pose> ellipse_path_z(const std::vector<Pose>& poses, int n_frames = 120, double variation = 0,
                                 double phase = 0, double height = 0);

// traj.py generate_spiral_path: n_rots turns of a spiral (90th percentile radii x spiral_scale_r) in the
// average pose's frame, looking at the point (0, 0, -focal) of that frame, focal from the disparity-space
// blend of the near / far bounds.
std::vector<Pose> spiral_path(const std::vector<Pose>& poses, double near_bound, double far_bound, int n_frames = 120,
                              int n_rots = 2, double zrate = 0.5, double spiral_scale_f = 1.0,
                              double spiral_scale_r = 1.0, double focus_distance = 0.75);

}  // namespace vg::traj
