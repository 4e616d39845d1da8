// Multi-view triangulation of tracks (COLMAP's IncrementalTriangulator, simplified): a point is created
// from the registered observations of a track by a small RANSAC over observation pairs (DLT, angle >=
// min_tri_angle, positive depth), refined by multi-view DLT on the inliers (reprojection <= max error);
// existing points are continued/completed with registered observations that reproject well.
#include <algorithm>
#include <cmath>

#include "geometry/camera_models.h"
#include "sfm/mapper_state.h"

namespace vg::mapper {
namespace {

constexpr double kDeg = 3.14159265358979323846 / 180;

std::vector<TrackElement> registered_elements(const Recon& r, int track) {
  std::vector<TrackElement> out;
  for (const TrackElement& e : r.sh->tracks[track])
    if (r.registered[e.image]) out.push_back(e);
  return out;
}

std::vector<int> inliers_of(const Recon& r, const std::vector<TrackElement>& els, const Eigen::Vector3d& X,
                            double max_sq, double* total) {
  std::vector<int> in;
  *total = 0;
  for (size_t k = 0; k < els.size(); ++k) {
    const double e = reproj_error_sq(r, els[k].image, els[k].point2d, X);
    if (e <= max_sq) {
      in.push_back(static_cast<int>(k));
      *total += e;
    }
  }
  return in;
}

bool refine_dlt(const Recon& r, const std::vector<TrackElement>& els, const std::vector<int>& idx,
                const std::vector<Eigen::Vector2d>& xn, Eigen::Vector3d* X) {
  std::vector<Matrix34d> Ps;
  std::vector<Eigen::Vector2d> xs;
  for (int k : idx) {
    Ps.push_back(r.projection(els[k].image));
    xs.push_back(xn[k]);
  }
  return triangulate_multiview(Ps, xs, X);
}

}  // namespace

bool triangulate_track(Recon& r, int track, const MapperOptions& opt, std::mt19937_64* rng) {
  if (r.points[track].valid) return false;
  if (opt.ignore_two_view_tracks && r.sh->tracks[track].size() == 2) return false;
  const std::vector<TrackElement> els = registered_elements(r, track);
  const int n = static_cast<int>(els.size());
  if (n < 2) return false;
  std::vector<Eigen::Vector2d> xn(n);
  for (int k = 0; k < n; ++k)
    xn[k] = camera_unproject(r.camera(els[k].image), r.sh->in->images[els[k].image].keypoints[els[k].point2d]);

  // Candidate pairs: all when few, else a random sample.
  std::vector<std::pair<int, int>> cand;
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b) cand.push_back({a, b});
  if (cand.size() > 40) {
    std::shuffle(cand.begin(), cand.end(), rng ? *rng : r.rng);
    cand.resize(40);
  }
  const double max_sq = opt.filter_max_reproj_error * opt.filter_max_reproj_error;
  const double min_angle = opt.min_tri_angle_deg * kDeg;
  std::vector<int> best;
  double best_err = 0;
  for (auto [a, b] : cand) {
    const int ia = els[a].image, ib = els[b].image;
    Eigen::Vector3d X;
    if (!triangulate_point(r.projection(ia), r.projection(ib), xn[a], xn[b], &X)) continue;
    if (!has_positive_depth(r.projection(ia), X) || !has_positive_depth(r.projection(ib), X)) continue;
    if (triangulation_angle(r.center(ia), r.center(ib), X) < min_angle) continue;
    double err = 0;
    std::vector<int> in = inliers_of(r, els, X, max_sq, &err);
    if (in.size() > best.size() || (in.size() == best.size() && err < best_err)) best = std::move(in), best_err = err;
    if (static_cast<int>(best.size()) == n) break;
  }
  if (best.size() < 2) return false;

  Eigen::Vector3d X;
  if (!refine_dlt(r, els, best, xn, &X)) return false;
  double err = 0;
  std::vector<int> in = inliers_of(r, els, X, max_sq, &err);
  if (in.size() < 2) return false;
  Point p;
  p.X = X;
  for (int k : in) p.obs.push_back(els[k]);
  if (!has_tri_angle(r, p, min_angle)) return false;
  r.points[track].valid = true;
  r.points[track].X = X;
  r.points[track].obs.clear();
  for (const TrackElement& e : p.obs) add_observation(r, track, e);
  return true;
}

int complete_track(Recon& r, int track, const MapperOptions& opt) {
  Point& p = r.points[track];
  if (!p.valid) return 0;
  const double max_sq = opt.filter_max_reproj_error * opt.filter_max_reproj_error;
  int added = 0;
  for (const TrackElement& e : r.sh->tracks[track]) {
    if (!r.registered[e.image] || r.observed[e.image][e.point2d]) continue;
    if (reproj_error_sq(r, e.image, e.point2d, p.X) <= max_sq) {
      add_observation(r, track, e);
      ++added;
    }
  }
  return added;
}

void triangulate_image(Recon& r, int image, const MapperOptions& opt) {
  for (int track : r.sh->track_of[image]) {
    if (track < 0) continue;
    if (r.points[track].valid) complete_track(r, track, opt);
    else triangulate_track(r, track, opt);
  }
}

void retriangulate(Recon& r, const MapperOptions& opt) {
  for (int track = 0; track < static_cast<int>(r.points.size()); ++track) {
    if (r.points[track].valid) complete_track(r, track, opt);
    else triangulate_track(r, track, opt);
  }
}

void retriangulate_from_scratch(Recon& r, const MapperOptions& opt) {
  for (int track = 0; track < static_cast<int>(r.points.size()); ++track)
    if (r.points[track].valid) delete_point(r, track);
  for (int track = 0; track < static_cast<int>(r.points.size()); ++track) triangulate_track(r, track, opt);
}

int filter_points(Recon& r, const std::vector<int>& tracks, const MapperOptions& opt) {
  const double max_sq = opt.filter_max_reproj_error * opt.filter_max_reproj_error;
  const double min_angle = opt.filter_min_tri_angle_deg * kDeg;
  int removed = 0;
  for (int track : tracks) {
    Point& p = r.points[track];
    if (!p.valid) continue;
    std::vector<TrackElement> keep;
    for (const TrackElement& e : p.obs) {
      if (r.registered[e.image] && reproj_error_sq(r, e.image, e.point2d, p.X) <= max_sq) keep.push_back(e);
      else r.observed[e.image][e.point2d] = 0, ++removed;
    }
    p.obs = std::move(keep);
    if (p.obs.size() < 2 || !has_tri_angle(r, p, min_angle)) {
      removed += static_cast<int>(p.obs.size());
      delete_point(r, track);
    }
  }
  return removed;
}

int filter_all_points(Recon& r, const MapperOptions& opt) {
  std::vector<int> all(r.points.size());
  for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<int>(k);
  return filter_points(r, all, opt);
}

}  // namespace vg::mapper
