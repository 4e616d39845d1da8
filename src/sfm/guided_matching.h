// Matching guided by known (approximate) cameras, for refining given poses: candidate pairs from the
// initial poses' view overlap, two-view verification by RANSAC as in SfM (geometry/two_view.h), then each
// verified pair compared with the initial cameras, with tolerances measured over all pairs (so they widen for
// noisy inputs): the median distance of its inliers to the initial epipolar lines, and how far its RANSAC relative
// rotation is from the initial one. Both are reported; by default no pair is dropped and all feed rotation
// averaging, because dropping cost more than the wrong pairs it removed (fox, 3 deg / 10 %, 3 seeds on the CPU
// and on the GPU): the pairs whose rotation (336 of 2005) or translation direction (359 more) were off are mostly
// right, their pose from F with a guessed focal or from a homography being what is wrong, and without them
// cameras lost the constraints that hold them (seed 2: 0.22 deg mean rotation error against 0.044 with all kept);
// dropping the pairs off the epipolar lines (285, between cameras on opposite sides of the object) or keeping the
// rotation-off pairs out of rotation averaging did no better than using every pair. The refinement's robust stages
// and reprojection filters remove the wrong matches. A per-match epipolar filter (optional, --epipolar-tolerance)
// drops the short-baseline pairs whose prior geometry is poorly known.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "geometry/two_view.h"
#include "io/colmap.h"

namespace vg {

struct PosedView {
  ColmapCamera camera;
  Eigen::Matrix3d R = Eigen::Matrix3d::Identity();  // cam_from_world
  Eigen::Vector3d t = Eigen::Vector3d::Zero();
  double depth = 0;  // typical scene depth in this view (e.g. median point depth); <= 0: estimated
};

struct OverlapOptions {
  double min_overlap = 0.05;    // a pair is a candidate when this share of either view lands in the other
  int max_pairs_per_image = 0;  // keep at most this many best-overlapping partners per image (0: all; a cap
                                // costs accuracy: fox 0.042 -> 0.098 deg at 30, its images see ~56 others)
  int grid = 12;                // samples per image side
  // Views whose optical axes differ by more than this see the scene from opposite sides (frustum overlap
  // alone cannot tell): no candidate (0: no limit). Narrower saves pairs but weakens the images at the ends of a
  // capture: fox at 60 deg has 1664 instead of 2202 pairs and the same error from perturbation seeds 0 / 1, but
  // seed 2 left its first two images 1.45 deg off (0.210 deg mean against 0.043 at 100).
  double max_axis_angle_deg = 100;
};

// Share of a grid of view a's pixels, placed at 0.5x, 1x and 2x its scene depth, that project in front of
// view b and inside its frame (the largest of the three depths).
double view_overlap(const PosedView& a, const PosedView& b, int grid = 12);
// Scene depths for views without one: the distance along each optical axis to the point nearest all axes
// (least squares), or, when the axes are near parallel (forward-facing captures), 10x the median distance to
// the nearest other camera.
void estimate_view_depths(std::vector<PosedView>& views);
// Candidate pairs (i < j) by overlap; `overlap` receives the symmetric overlap of every returned pair.
std::vector<std::pair<int, int>> overlap_pairs(const std::vector<PosedView>& views, const OverlapOptions& opt,
                                               std::vector<double>* overlap = nullptr);

// Sampson distance (pixels, through the mean focal length of a) of each match under the essential matrix of
// the two views' initial poses; keypoints undistorted with their cameras.
std::vector<double> prior_epipolar_errors(const PosedView& a, const std::vector<Eigen::Vector2d>& points_a,
                                          const PosedView& b, const std::vector<Eigen::Vector2d>& points_b,
                                          const FeatureMatches& matches);

struct GuidedMatchOptions {
  double epipolar_tolerance_px = 0;  // > 0: matches farther from the initial epipolar lines dropped before RANSAC
  // tolerance_factor > 0: a verified pair is left out of rotation averaging when its relative rotation differs
  // from the initial one by more than max(min_rotation_tolerance_deg, tolerance_factor x the median over pairs);
  // pair_error_factor > 0: it is dropped when the median initial-epipolar distance of its inliers exceeds
  // max(min_pair_error_tolerance_px, pair_error_factor x the median over pairs). 0: off (the default, see above).
  double min_rotation_tolerance_deg = 10;
  double tolerance_factor = 0;
  double pair_error_factor = 0;
  double min_pair_error_tolerance_px = 4;
  TwoViewOptions two_view;
  bool has_prior_focal = false;      // true: calibrated RANSAC first (trusts the initial intrinsics)
  int num_threads = 0;
  uint64_t seed = 0;
  std::function<void(int, int)> progress;  // (pairs verified so far, pairs) from the worker threads, serialised
  // Set when the matches are still being computed on another thread: returns once pair p's are final (pairs are
  // taken in increasing order).
  std::function<void(int)> wait_for_pair;
};

struct GuidedMatchResult {
  std::map<std::pair<int, int>, TwoViewGeometry> verified;  // pairs verified, inliers near the initial epipolar lines
  std::set<std::pair<int, int>> rotation_off;  // of those, the pairs whose relative rotation is off the initial one
  double median_pair_error_px = 0, pair_error_tolerance_px = 0;  // per-pair median inlier epipolar distance
  double tolerance_px = 0;            // 2x the 95th percentile of the verified inliers' initial epipolar errors
  double rotation_tolerance_deg = 0;  // the tolerances used (see GuidedMatchOptions)
  double median_rotation_diff_deg = 0;  // how far the initial relative rotations are from the verified ones
  int64_t matches_in = 0, matches_prior_rejected = 0, matches_verified = 0;  // rejected: prefilter + rejected pairs
  int pairs_in = 0, pairs_ransac = 0, pairs_prior_rejected = 0, pairs_verified = 0;
};

// RANSAC-verifies raw descriptor matches of the given pairs, then keeps the pairs that agree with the initial
// cameras (optionally prefiltering matches by the initial epipolar geometry).
// keypoints[i]: image i's keypoints (pixels); views[i]: its initial camera and pose.
GuidedMatchResult guided_verify(const std::vector<PosedView>& views,
                                const std::vector<std::vector<Eigen::Vector2d>>& keypoints,
                                const std::vector<std::pair<int, int>>& pairs,
                                const std::vector<FeatureMatches>& matches, const GuidedMatchOptions& opt);

}  // namespace vg
