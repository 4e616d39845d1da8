// Bundle adjustment: Levenberg-Marquardt on reprojection errors with the Schur complement on the points
// (Triggs et al. 2000), robust losses (Huber, Cauchy as Ceres defines them) and a fixed gauge.
// CPU: Eigen (sparse Cholesky on the reduced camera system, or PCG); CUDA: PCG on the GPU.
// Cost convention as Ceres: 0.5 * sum_i rho(||r_i||^2).
#pragma once
#include <cstdint>
#include <set>

#include "core/device.h"
#include "io/colmap.h"

namespace vg {

struct BundleOptions {
  enum class Loss { Trivial, Huber, Cauchy, SoftL1 };
  Loss loss = Loss::Trivial;
  double loss_scale = 1.0;  // Ceres' `a`: Huber/Cauchy threshold in pixels
  int max_iterations = 100;
  double function_tolerance = 1e-6;  // stop when |dcost| / cost < this (Ceres semantics)
  double gradient_tolerance = 1e-10;
  double parameter_tolerance = 1e-8;
  bool refine_focal = true;
  bool refine_principal_point = false;
  bool refine_extra_params = true;
  std::set<uint32_t> constant_poses;        // image ids whose pose stays fixed (gauge)
  std::set<uint32_t> constant_cameras;      // camera ids whose intrinsics stay fixed
  bool fix_gauge_automatically = true;      // when constant_poses is empty: fix the first image's pose and
                                            // one translation coordinate of the second (COLMAP)
  bool constant_points = false;             // pose-only refinement
  Device device = Device::cpu();
  bool verbose = false;
};

struct BundleSummary {
  double initial_cost = 0, final_cost = 0;
  int iterations = 0;
  int num_residuals = 0;  // 2 per observation
  bool converged = false;
  double seconds = 0;
  double setup_seconds = 0;  // problem conversion, solver creation (uploads) and the first linearisation
  std::string termination;  // "function tolerance", "max iterations", ...
};

// Refines every registered image (all images in `model`), its camera and every 3D point in place.
// Observations are the images' xys with point3D_ids >= 0.
BundleSummary bundle_adjust(ColmapModel& model, const BundleOptions& opt);

// The same problem's cost (for tests and comparisons with Ceres).
double reprojection_cost(const ColmapModel& model, const BundleOptions& opt);

}  // namespace vg
