// Initial pair and next-best-view registration (COLMAP's FindInitialImagePair, RegisterInitialImagePair,
// FindNextImages with the visibility-pyramid score, RegisterNextImage).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <set>

#include <Eigen/Geometry>

#include "geometry/absolute_pose.h"
#include "geometry/camera_models.h"
#include "sfm/mapper_state.h"

namespace vg::mapper {
namespace {

constexpr double kDeg = 3.14159265358979323846 / 180;

bool has_prior_focal(const Recon& r, int image) {
  const auto& m = r.sh->in->camera_has_prior_focal;
  auto it = m.find(r.sh->in->images[image].camera_id);
  return it != m.end() && it->second;
}

const TwoViewGeometry* find_pair(const Recon& r, int i, int j) {
  auto it = r.sh->in->pairs.find({std::min(i, j), std::max(i, j)});
  return it == r.sh->in->pairs.end() ? nullptr : &it->second;
}

// First images: unused, most correspondences, prior focal first (COLMAP's FindFirstInitialImage).
std::vector<int> first_candidates(const Recon& r) {
  std::vector<int> c;
  for (int i = 0; i < static_cast<int>(r.registered.size()); ++i)
    if (!r.sh->used[i] && r.sh->num_correspondences[i] > 0) c.push_back(i);
  std::stable_sort(c.begin(), c.end(), [&](int a, int b) {
    const bool fa = has_prior_focal(r, a), fb = has_prior_focal(r, b);
    if (fa != fb) return fa;
    return r.sh->num_correspondences[a] > r.sh->num_correspondences[b];
  });
  return c;
}

std::vector<int> second_candidates(const Recon& r, int i1) {
  std::vector<std::pair<int, int>> c;
  for (int j = 0; j < static_cast<int>(r.registered.size()); ++j) {
    if (j == i1 || r.sh->used[j]) continue;
    if (const TwoViewGeometry* tv = find_pair(r, i1, j))
      c.push_back({static_cast<int>(tv->inlier_matches.size()), j});
  }
  std::stable_sort(c.begin(), c.end(), [](auto a, auto b) { return a.first > b.first; });
  std::vector<int> out;
  for (auto [n, j] : c) out.push_back(j);
  return out;
}

// COLMAP's EstimateInitialTwoViewGeometry: calibrated (E) estimation with the current cameras.
// Returns the first failed condition (0 = accepted) so that a failed search can say why.
enum InitReject { kAccepted = 0, kNotGeneral, kFewInliers, kForward, kSmallAngle, kFewPoints, kNumReject };

InitReject initial_geometry(const Recon& r, int i1, int i2, const MapperOptions& opt, TwoViewGeometry* out) {
  const TwoViewGeometry* tv = find_pair(r, i1, i2);
  FeatureMatches matches = tv->inlier_matches;
  if (i1 > i2)
    for (auto& m : matches) std::swap(m.first, m.second);
  TwoViewOptions to;
  to.ransac.max_error = opt.init_max_error;
  to.ransac.seed = opt.seed + static_cast<uint64_t>(i1) * 7919 + i2;
  to.min_num_inliers = opt.init_min_num_inliers;
  to.compute_relative_pose = true;
  *out = estimate_two_view_geometry(r.camera(i1), r.sh->in->images[i1].keypoints, r.camera(i2),
                                    r.sh->in->images[i2].keypoints, matches, true, to);
  // COLMAP takes any configuration with a relative pose (PLANAR too); PANORAMIC has no baseline.
  const bool posed = out->config == TwoViewGeometry::CALIBRATED || out->config == TwoViewGeometry::UNCALIBRATED ||
                     out->config == TwoViewGeometry::PLANAR;
  if (!posed || out->cam2_from_cam1_t.norm() < 0.5) return kNotGeneral;
  if (static_cast<int>(out->inlier_matches.size()) < opt.init_min_num_inliers) return kFewInliers;
  if (std::abs(out->cam2_from_cam1_t.normalized().z()) >= 0.95) return kForward;  // COLMAP's init_max_forward_motion
  if (out->tri_angle < opt.init_min_tri_angle_deg * kDeg) return kSmallAngle;
  return kAccepted;
}

std::string reject_summary(const int (&n)[kNumReject]) {
  return std::to_string(n[kNotGeneral]) + " degenerate/planar, " + std::to_string(n[kFewInliers]) +
         " few inliers, " + std::to_string(n[kForward]) + " forward motion, " + std::to_string(n[kSmallAngle]) +
         " small triangulation angle, " + std::to_string(n[kFewPoints]) + " few points after BA";
}

void unregister_all(Recon& r) {
  for (int track = 0; track < static_cast<int>(r.points.size()); ++track)
    if (r.points[track].valid) delete_point(r, track);
  for (int i : r.reg_order) r.registered[i] = 0;
  r.reg_order.clear();
  r.cameras = r.sh->in->cameras;
}

// Visibility pyramid score (Schoenberger & Frahm 2016, sec. 4.2): occupied cells over 6 levels, finer
// levels weigh more, so well-spread points beat clustered ones.
double pyramid_score(const Recon& r, int image) {
  constexpr int kLevels = 6;
  const ColmapCamera& cam = r.camera(image);
  std::vector<char> cells((2 << (kLevels - 1)) * (2 << (kLevels - 1)));
  double score = 0;
  for (int l = 0; l < kLevels; ++l) {
    const int dim = 2 << l;
    std::fill(cells.begin(), cells.begin() + dim * dim, 0);
    for (size_t f = 0; f < r.sh->track_of[image].size(); ++f) {
      const int track = r.sh->track_of[image][f];
      if (track < 0 || !r.points[track].valid) continue;
      const Eigen::Vector2d& p = r.sh->in->images[image].keypoints[f];
      const int cx = std::clamp(static_cast<int>(p.x() / cam.width * dim), 0, dim - 1);
      const int cy = std::clamp(static_cast<int>(p.y() / cam.height * dim), 0, dim - 1);
      char& c = cells[cy * dim + cx];
      if (!c) c = 1, score += dim;  // occupied cell at level l weighs 2^(l+1)
    }
  }
  return score;
}

}  // namespace

bool initialize(Recon& r, const MapperOptions& opt, std::set<std::pair<int, int>>& tried, std::string* msg) {
  int rejected[kNumReject] = {};
  for (int i1 : first_candidates(r)) {
    for (int i2 : second_candidates(r, i1)) {
      if (!tried.insert({std::min(i1, i2), std::max(i1, i2)}).second) continue;
      TwoViewGeometry tv;
      const InitReject why = initial_geometry(r, i1, i2, opt, &tv);
      if (std::getenv("VGSPLAT_MAPPER_DEBUG"))
        std::fprintf(stderr, "initial pair %s %s: reject %d, config %d, %zu inliers, tri angle %.2f deg\n",
                     r.sh->in->images[i1].name.c_str(), r.sh->in->images[i2].name.c_str(), int(why), int(tv.config),
                     tv.inlier_matches.size(), tv.tri_angle / kDeg);
      if (why != kAccepted) {
        ++rejected[why];
        continue;
      }
      r.R[i1].setIdentity();
      r.t[i1].setZero();
      r.R[i2] = tv.cam2_from_cam1_q.normalized().toRotationMatrix();
      r.t[i2] = tv.cam2_from_cam1_t.normalized();
      for (int i : {i1, i2}) r.registered[i] = 1, r.reg_order.push_back(i);
      MapperOptions init_opt = opt;
      init_opt.filter_max_reproj_error = opt.init_max_error;
      init_opt.ignore_two_view_tracks = false;  // COLMAP triangulates every correspondence of the initial pair
      triangulate_image(r, i1, init_opt);
      global_bundle_adjust(r, opt);
      filter_all_points(r, opt);
      const size_t n = r.num_points();
      if (static_cast<int>(n) >= std::max(opt.init_min_num_inliers / 2, 15)) {
        *msg = "initial pair " + r.sh->in->images[i1].name + ", " + r.sh->in->images[i2].name + ": " +
               std::to_string(tv.inlier_matches.size()) + " inliers, " + std::to_string(n) + " points";
        return true;
      }
      ++rejected[kFewPoints];
      unregister_all(r);
    }
  }
  *msg = "no initial pair found (rejected: " + reject_summary(rejected) + ")";
  return false;
}

std::vector<int> next_images(const Recon& r, int max_trials) {
  std::vector<std::pair<double, int>> ranked;
  for (int i = 0; i < static_cast<int>(r.registered.size()); ++i) {
    if (r.registered[i] || r.sh->used[i] || r.reg_trials[i] >= max_trials) continue;
    const double s = pyramid_score(r, i);
    if (s > 0) ranked.push_back({s, i});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](auto a, auto b) { return a.first > b.first; });
  std::vector<int> out;
  for (auto [s, i] : ranked) out.push_back(i);
  return out;
}

bool register_image(Recon& r, int image, const MapperOptions& opt) {
  std::vector<Eigen::Vector2d> p2;
  std::vector<Eigen::Vector3d> p3;
  std::vector<std::pair<int, int>> corr;  // (feature, track)
  const auto& kps = r.sh->in->images[image].keypoints;
  for (size_t f = 0; f < kps.size(); ++f) {
    const int track = r.sh->track_of[image][f];
    if (track < 0 || !r.points[track].valid) continue;
    p2.push_back(kps[f]);
    p3.push_back(r.points[track].X);
    corr.push_back({static_cast<int>(f), track});
  }
  if (static_cast<int>(p2.size()) < opt.abs_pose_min_num_inliers) return false;

  // Focal estimation only for a camera with no prior focal that no registered image has refined yet.
  bool camera_refined = false;
  for (int i : r.reg_order) camera_refined |= r.sh->in->images[i].camera_id == r.sh->in->images[image].camera_id;
  AbsolutePoseOptions ao;
  ao.ransac.max_error = opt.abs_pose_max_error;
  ao.ransac.seed = opt.seed + 104729ull * (image + 1) + r.reg_order.size();
  ao.min_num_inliers = opt.abs_pose_min_num_inliers;
  ao.estimate_focal = !has_prior_focal(r, image) && !camera_refined;
  ao.refine_focal = ao.estimate_focal && opt.refine_focal;
  const auto t0 = std::chrono::steady_clock::now();
  AbsolutePoseResult res = estimate_absolute_pose(r.camera(image), p2, p3, ao);
  if (std::getenv("VGSPLAT_MAPPER_DEBUG"))
    std::fprintf(stderr, "register %s: %zu corr, success %d, %d inliers, focal %.1f (%s), %.3f s\n",
                 r.sh->in->images[image].name.c_str(), p2.size(), int(res.success), res.num_inliers, res.focal,
                 ao.estimate_focal ? "estimated" : "fixed",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (!res.success || res.num_inliers < opt.abs_pose_min_num_inliers) return false;

  if (ao.estimate_focal && res.focal > 0) {
    ColmapCamera& cam = r.camera(image);
    for (int k : camera_focal_idxs(colmap_model_id(cam.model))) cam.params[k] = res.focal;
  }
  r.R[image] = res.cam_from_world_q.normalized().toRotationMatrix();
  r.t[image] = res.cam_from_world_t;
  r.registered[image] = 1;
  r.reg_order.push_back(image);
  for (size_t k = 0; k < corr.size(); ++k)
    if (k < res.inlier_mask.size() && res.inlier_mask[k])
      add_observation(r, corr[k].second, {static_cast<uint32_t>(image), static_cast<uint32_t>(corr[k].first)});
  triangulate_image(r, image, opt);
  return true;
}

PoseCheck check_image_pose(const Recon& r, int image, double max_error, uint64_t seed) {
  PoseCheck c;
  std::vector<Eigen::Vector2d> p2;
  std::vector<Eigen::Vector3d> p3;
  std::vector<std::pair<int, int>> corr;
  const auto& kps = r.sh->in->images[image].keypoints;
  const double max_sq = max_error * max_error;
  for (size_t f = 0; f < kps.size(); ++f) {
    const int track = r.sh->track_of[image][f];
    if (track < 0 || !r.points[track].valid) continue;
    int others = 0;
    for (const TrackElement& e : r.points[track].obs) others += static_cast<int>(e.image) != image;
    if (others < 2) continue;  // a point this image helps place says little about its pose
    p2.push_back(kps[f]);
    p3.push_back(r.points[track].X);
    corr.push_back({static_cast<int>(f), track});
    c.support += reproj_error_sq(r, image, static_cast<int>(f), r.points[track].X) <= max_sq;
  }
  c.correspondences = static_cast<int>(corr.size());
  c.inliers = c.support;
  // Even a pose that fits every correspondence would not be worth the move.
  if (4 * c.correspondences < 5 * c.support + 80 || c.correspondences < 30) return c;
  AbsolutePoseOptions ao;
  ao.ransac.max_error = max_error;
  ao.ransac.seed = seed;
  ao.min_num_inliers = 30;
  const AbsolutePoseResult res = estimate_absolute_pose(r.camera(image), p2, p3, ao);
  if (!res.success) return c;
  c.solved = true;
  c.R = res.cam_from_world_q.normalized().toRotationMatrix();
  c.t = res.cam_from_world_t;
  for (const auto& [f, track] : corr)  // counted as the support is: all correspondences, max_error
    if (reproj_error_sq(r, image, f, r.points[track].X, c.R, c.t) <= max_sq) c.inlier_corr.push_back({f, track});
  c.inliers = static_cast<int>(c.inlier_corr.size());
  return c;
}

void move_image(Recon& r, int image, const PoseCheck& c) {
  const auto& track_of = r.sh->track_of[image];
  for (size_t f = 0; f < track_of.size(); ++f) {
    if (!r.observed[image][f]) continue;
    std::vector<TrackElement>& obs = r.points[track_of[f]].obs;
    obs.erase(std::remove_if(obs.begin(), obs.end(), [&](const TrackElement& e) {
                return static_cast<int>(e.image) == image && e.point2d == f;
              }), obs.end());
    r.observed[image][f] = 0;
    if (obs.size() < 2) delete_point(r, track_of[f]);
  }
  r.R[image] = c.R;
  r.t[image] = c.t;
  for (auto [f, track] : c.inlier_corr)
    if (r.points[track].valid)
      add_observation(r, track, {static_cast<uint32_t>(image), static_cast<uint32_t>(f)});
}

}  // namespace vg::mapper
