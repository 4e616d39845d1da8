#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "geometry/camera_models.h"
#include "sfm/mapper_state.h"

namespace vg::mapper {

Shared make_shared(const MapperInput& in) {
  Shared sh;
  sh.in = &in;
  const int n = static_cast<int>(in.images.size());
  std::vector<int> counts(n);
  for (int i = 0; i < n; ++i) {
    counts[i] = static_cast<int>(in.images[i].keypoints.size());
    VG_CHECK(in.cameras.count(in.images[i].camera_id), "mapper: image '", in.images[i].name, "' has camera id ",
             in.images[i].camera_id, " that is not in the input cameras");
    VG_CHECK(in.images[i].colors.empty() || in.images[i].colors.size() == in.images[i].keypoints.size(),
             "mapper: image '", in.images[i].name, "' has ", in.images[i].colors.size(), " colours for ",
             in.images[i].keypoints.size(), " keypoints");
  }
  std::map<std::pair<int, int>, FeatureMatches> matches;
  sh.num_correspondences.assign(n, 0);
  for (const auto& [p, tv] : in.pairs) {
    matches[p] = tv.inlier_matches;
    if (p.first >= 0 && p.second >= 0 && p.first < n && p.second < n) {
      sh.num_correspondences[p.first] += static_cast<int>(tv.inlier_matches.size());
      sh.num_correspondences[p.second] += static_cast<int>(tv.inlier_matches.size());
    }
  }
  sh.tracks = build_tracks(counts, matches, 2);
  sh.track_of.resize(n);
  for (int i = 0; i < n; ++i) sh.track_of[i].assign(counts[i], -1);
  for (size_t k = 0; k < sh.tracks.size(); ++k)
    for (const TrackElement& e : sh.tracks[k]) sh.track_of[e.image][e.point2d] = static_cast<int>(k);
  sh.used.assign(n, 0);
  return sh;
}

Recon make_recon(const Shared& sh, uint64_t seed) {
  Recon r;
  r.sh = &sh;
  r.cameras = sh.in->cameras;
  const size_t n = sh.in->images.size();
  r.registered.assign(n, 0);
  r.reg_trials.assign(n, 0);
  r.R.assign(n, Eigen::Matrix3d::Identity());
  r.t.assign(n, Eigen::Vector3d::Zero());
  r.observed.resize(n);
  for (size_t i = 0; i < n; ++i) r.observed[i].assign(sh.in->images[i].keypoints.size(), 0);
  r.points.resize(sh.tracks.size());
  r.rng.seed(seed);
  return r;
}

size_t Recon::num_points() const {
  size_t n = 0;
  for (const Point& p : points) n += p.valid;
  return n;
}

const ColmapCamera& Recon::camera(int image) const { return cameras.at(sh->in->images[image].camera_id); }
ColmapCamera& Recon::camera(int image) { return cameras.at(sh->in->images[image].camera_id); }

Matrix34d Recon::projection(int image) const {
  Matrix34d P;
  P.leftCols<3>() = R[image];
  P.col(3) = t[image];
  return P;
}

double reproj_error_sq(const Recon& r, int image, int feature, const Eigen::Vector3d& X) {
  return reproj_error_sq(r, image, feature, X, r.R[image], r.t[image]);
}

double reproj_error_sq(const Recon& r, int image, int feature, const Eigen::Vector3d& X, const Eigen::Matrix3d& R,
                       const Eigen::Vector3d& t) {
  const Eigen::Vector3d pc = R * X + t;
  if (pc.z() <= std::numeric_limits<double>::epsilon()) return std::numeric_limits<double>::infinity();
  const ColmapCamera& cam = r.camera(image);
  const Eigen::Vector2d px = camera_project<double>(colmap_model_id(cam.model), cam.params.data(), pc);
  return (px - r.sh->in->images[image].keypoints[feature]).squaredNorm();
}

void add_observation(Recon& r, int track, TrackElement e) {
  if (r.observed[e.image][e.point2d]) return;
  r.observed[e.image][e.point2d] = 1;
  r.points[track].obs.push_back(e);
}

void delete_point(Recon& r, int track) {
  Point& p = r.points[track];
  for (const TrackElement& e : p.obs) r.observed[e.image][e.point2d] = 0;
  p.obs.clear();
  p.valid = false;
}

bool has_tri_angle(const Recon& r, const Point& p, double min_angle) {
  for (size_t a = 0; a < p.obs.size(); ++a) {
    const Eigen::Vector3d ca = r.center(p.obs[a].image);
    for (size_t b = a + 1; b < p.obs.size(); ++b)
      if (triangulation_angle(ca, r.center(p.obs[b].image), p.X) >= min_angle) return true;
  }
  return false;
}

}  // namespace vg::mapper
