// Internal: bundle adjustment of an already flattened problem (sfm/bundle_adjustment_problem.h), for callers
// that build it directly instead of through a ColmapModel (the mapper's global adjustments).
#pragma once
#include "sfm/bundle_adjustment.h"
#include "sfm/bundle_adjustment_problem.h"

namespace vg::ba {

// The parameters of a camera model refined under the options (COLMAP's focal / principal point / extra idxs).
void camera_free_mask(int model, const BundleOptions& opt, unsigned char* mask);
// Appends a camera (its parameters and refined mask; constant when in opt.constant_cameras); returns its index.
int add_camera(Problem& p, const ColmapCamera& cam, const BundleOptions& opt);
// Appends an image's pose (quaternion normalised; held when `fixed`). image_id names it in errors.
void add_pose(Problem& p, const double* qvec, const double* tvec, bool fixed, uint32_t image_id);
// COLMAP's automatic gauge (when opt has no constant poses): the first image's pose and the second's largest
// translation coordinate held.
void fix_gauge(Problem& p, const BundleOptions& opt);
// Levenberg-Marquardt on p; its parameters are updated in place. build_seconds (the caller's conversion) is
// counted into the summary's setup and total seconds.
BundleSummary solve(Problem& p, const BundleOptions& opt, double build_seconds = 0);

}  // namespace vg::ba
