// Internal state of the incremental mapper (not a public API): the tracks shared by all models and one
// growing reconstruction, with the steps of COLMAP's IncrementalMapper as free functions.
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "geometry/triangulation.h"
#include "sfm/mapper.h"
#include "sfm/tracks.h"

namespace vg::mapper {

// Tracks over all images, fixed for the whole run.
struct Shared {
  const MapperInput* in = nullptr;
  std::vector<Track> tracks;
  std::vector<std::vector<int>> track_of;    // [image][feature] -> track id or -1
  std::vector<int> num_correspondences;      // per image: sum of its verified matches
  std::vector<char> used;                    // image registered in an earlier model
};

struct Point {
  bool valid = false;
  Eigen::Vector3d X = Eigen::Vector3d::Zero();
  std::vector<TrackElement> obs;  // registered observations that support X
};

struct Recon {
  const Shared* sh = nullptr;
  std::map<uint32_t, ColmapCamera> cameras;  // refined copies of the input cameras
  std::vector<char> registered;
  std::vector<Eigen::Matrix3d> R;  // cam_from_world
  std::vector<Eigen::Vector3d> t;
  std::vector<std::vector<char>> observed;  // [image][feature]: part of its track's point
  std::vector<Point> points;                // one per track
  std::vector<int> reg_order;
  std::vector<int> reg_trials;  // registration attempts per image in this model (COLMAP's num_reg_trials)
  std::mt19937_64 rng;
  size_t num_points() const;
  const ColmapCamera& camera(int image) const;
  ColmapCamera& camera(int image);
  Eigen::Vector3d center(int image) const { return -R[image].transpose() * t[image]; }
  Matrix34d projection(int image) const;
};

Recon make_recon(const Shared& sh, uint64_t seed);
Shared make_shared(const MapperInput& in);

// Squared pixel error of X in `image` at `feature`; +inf behind the camera.
double reproj_error_sq(const Recon& r, int image, int feature, const Eigen::Vector3d& X);
// The same for a pose (R, t) other than the image's own.
double reproj_error_sq(const Recon& r, int image, int feature, const Eigen::Vector3d& X, const Eigen::Matrix3d& R,
                       const Eigen::Vector3d& t);
void add_observation(Recon& r, int track, TrackElement e);
void delete_point(Recon& r, int track);
// Some observation pair sees the point under >= min_angle (radians); stops at the first (COLMAP's filter).
bool has_tri_angle(const Recon& r, const Point& p, double min_angle);

// Triangulation (mapper_triangulate.cc).
// rng: the candidate-pair sampler (default r.rng); callers triangulating tracks in parallel pass their own (a
// track's features belong to it alone, so tracks touch disjoint state).
bool triangulate_track(Recon& r, int track, const MapperOptions& opt, std::mt19937_64* rng = nullptr);
int complete_track(Recon& r, int track, const MapperOptions& opt);  // observations added
void triangulate_image(Recon& r, int image, const MapperOptions& opt);
void retriangulate(Recon& r, const MapperOptions& opt);
// Every point deleted, every track triangulated anew from the current cameras (MapperOptions::final_retriangulation).
void retriangulate_from_scratch(Recon& r, const MapperOptions& opt);
// Removes bad observations (error, depth) then points with < 2 views or a small angle; returns removed obs.
int filter_points(Recon& r, const std::vector<int>& tracks, const MapperOptions& opt);
int filter_all_points(Recon& r, const MapperOptions& opt);

// Models (mapper_model.cc): BA problems and the output.
void local_bundle_adjust(Recon& r, int image, const MapperOptions& opt);
// function_tolerance: relative cost change that stops it (1e-6 for final refinements, looser while growing).
void global_bundle_adjust(Recon& r, const MapperOptions& opt, double function_tolerance = 1e-6);
// Bundle adjustment of every registered image, its camera and every valid point with the caller's options
// (loss, tolerances, fixed poses, device); the result is read back into r.
// `before`, when given, sees the problem as it goes into the solver (dumps, benchmarks).
BundleSummary bundle_adjust_registered(Recon& r, const BundleOptions& b,
                                       const std::function<void(const ColmapModel&, const BundleOptions&)>& before = {});
int filter_images(Recon& r, const MapperOptions& opt);  // bogus intrinsics -> deregistered
ColmapModel to_output_model(const Recon& r);

// Registration (mapper_register.cc).
bool initialize(Recon& r, const MapperOptions& opt, std::set<std::pair<int, int>>& tried, std::string* msg);
std::vector<int> next_images(const Recon& r, int max_trials);
bool register_image(Recon& r, int image, const MapperOptions& opt);

// Pose check of a registered image (refine: a camera can settle in a wrong basin with the few points that follow
// it): P3P RANSAC on its features whose track points are seen by >= 2 other images, fixed intrinsics. `support`
// counts those correspondences within max_error at the current pose, `inliers` at the new one.
struct PoseCheck {
  int correspondences = 0, support = 0, inliers = 0;
  bool solved = false;  // RANSAC ran and found a pose (skipped when it could not win, see worth_moving)
  Eigen::Matrix3d R = Eigen::Matrix3d::Identity();
  Eigen::Vector3d t = Eigen::Vector3d::Zero();
  std::vector<std::pair<int, int>> inlier_corr;  // (feature, track)
  // The new pose fits clearly more correspondences: 1.25x the support and 20 more.
  bool worth_moving() const { return solved && inliers >= 30 && 4 * inliers >= 5 * support + 80; }
};
PoseCheck check_image_pose(const Recon& r, int image, double max_error, uint64_t seed);
// Moves the image to the checked pose: its observations are replaced by the inlier correspondences (points left
// with fewer than 2 observations are deleted).
void move_image(Recon& r, int image, const PoseCheck& c);

}  // namespace vg::mapper
