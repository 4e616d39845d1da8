// Bundle-adjustment problems of the mapper (COLMAP's AdjustLocalBundle / AdjustGlobalBundle) and the
// output ColmapModel: a reconstruction is written into a ColmapModel (image id = index + 1, point id =
// track + 1), adjusted by bundle_adjust, and the refined poses, cameras and points are read back.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include <Eigen/Geometry>

#include "core/error.h"
#include "geometry/camera_models.h"
#include "sfm/bundle_adjustment_flat.h"
#include "sfm/bundle_adjustment_math.h"
#include "sfm/mapper_state.h"

namespace vg::mapper {
namespace {

ColmapImage image_for_ba(const Recon& r, int i, const std::vector<char>& point_in) {
  const MapperImage& mi = r.sh->in->images[i];
  ColmapImage im;
  im.id = static_cast<uint32_t>(i + 1);
  im.camera_id = mi.camera_id;
  im.name = mi.name;
  Eigen::Quaterniond q(r.R[i]);
  im.qvec = {q.w(), q.x(), q.y(), q.z()};
  im.tvec = {r.t[i].x(), r.t[i].y(), r.t[i].z()};
  im.xys.reserve(mi.keypoints.size() * 2);
  im.point3D_ids.assign(mi.keypoints.size(), -1);
  for (size_t f = 0; f < mi.keypoints.size(); ++f) {
    im.xys.push_back(mi.keypoints[f].x());
    im.xys.push_back(mi.keypoints[f].y());
    const int track = r.sh->track_of[i][f];
    if (track >= 0 && r.observed[i][f] && point_in[track]) im.point3D_ids[f] = track + 1;
  }
  return im;
}

// Images, their cameras and the chosen points as a ColmapModel.
ColmapModel build_problem(const Recon& r, const std::vector<int>& images, const std::vector<char>& point_in) {
  ColmapModel m;
  for (int i : images) {
    m.images[static_cast<uint32_t>(i + 1)] = image_for_ba(r, i, point_in);
    const uint32_t cid = r.sh->in->images[i].camera_id;
    m.cameras[cid] = r.cameras.at(cid);
  }
  for (size_t k = 0; k < point_in.size(); ++k) {
    if (!point_in[k] || !r.points[k].valid) continue;
    ColmapPoint3D p;
    p.id = k + 1;
    p.xyz = {r.points[k].X.x(), r.points[k].X.y(), r.points[k].X.z()};
    for (const TrackElement& e : r.points[k].obs)
      if (m.images.count(e.image + 1)) p.track.push_back({e.image + 1, e.point2d});
    m.points[p.id] = std::move(p);
  }
  return m;
}

void read_back(Recon& r, const ColmapModel& m) {
  for (const auto& [id, im] : m.images) {
    const int i = static_cast<int>(id) - 1;
    Eigen::Quaterniond q(im.qvec[0], im.qvec[1], im.qvec[2], im.qvec[3]);
    r.R[i] = q.normalized().toRotationMatrix();
    r.t[i] = Eigen::Vector3d(im.tvec[0], im.tvec[1], im.tvec[2]);
  }
  for (const auto& [cid, cam] : m.cameras) r.cameras[cid] = cam;
  for (const auto& [pid, p] : m.points) r.points[pid - 1].X = Eigen::Vector3d(p.xyz[0], p.xyz[1], p.xyz[2]);
}

// The problem bundle_adjust would build from build_problem's model, built straight from the reconstruction (the
// same images, cameras, points and observations in the same order, so the same solve): images with at least
// one observation in ascending order, cameras in their order of first use, points in track order with their
// observations by image and keypoint.
struct FlatIndex {
  std::vector<int> images, tracks;
  std::vector<uint32_t> camera_ids;
};

ba::Problem flat_problem(const Recon& r, const std::vector<int>& images, const std::vector<char>& point_in,
                         const BundleOptions& opt, FlatIndex& idx) {
  ba::Problem p;
  p.loss = static_cast<int>(opt.loss);
  p.loss_scale = opt.loss_scale;
  VG_CHECK(p.loss == 0 || opt.loss_scale > 0, "bundle_adjust: loss_scale must be > 0, got ", opt.loss_scale);
  // Observations (track, image index, keypoint), then bucketed by track keeping that order.
  std::vector<std::array<int, 3>> obs;
  for (int i : images) {
    const size_t before = obs.size();
    for (size_t f = 0; f < r.observed[i].size(); ++f) {
      const int track = r.sh->track_of[i][f];
      if (track >= 0 && r.observed[i][f] && point_in[track])
        obs.push_back({track, static_cast<int>(idx.images.size()), static_cast<int>(f)});
    }
    if (obs.size() > before) idx.images.push_back(i);
  }
  std::map<uint32_t, int> camera_index;
  p.num_images = static_cast<int>(idx.images.size());
  for (int i : idx.images) {
    const uint32_t cid = r.sh->in->images[i].camera_id;
    if (!camera_index.count(cid)) {
      camera_index[cid] = ba::add_camera(p, r.cameras.at(cid), opt);
      idx.camera_ids.push_back(cid);
    }
    p.image_camera.push_back(camera_index[cid]);
    const Eigen::Quaterniond q(r.R[i]);
    const double qv[4] = {q.w(), q.x(), q.y(), q.z()}, tv[3] = {r.t[i].x(), r.t[i].y(), r.t[i].z()};
    ba::add_pose(p, qv, tv, opt.constant_poses.count(static_cast<uint32_t>(i + 1)) > 0, static_cast<uint32_t>(i + 1));
  }
  p.points_free = !opt.constant_points;
  ba::fix_gauge(p, opt);
  std::vector<int> start(r.points.size() + 1, 0);  // counting sort by track (stable)
  for (const auto& o : obs) ++start[o[0] + 1];
  for (size_t k = 0; k < r.points.size(); ++k) start[k + 1] += start[k];
  std::vector<int> order(obs.size());
  {
    std::vector<int> next(start.begin(), start.end() - 1);
    for (size_t o = 0; o < obs.size(); ++o) order[next[obs[o][0]]++] = static_cast<int>(o);
  }
  p.point_obs.push_back(0);
  for (size_t k = 0; k < r.points.size(); ++k) {
    if (start[k + 1] == start[k]) continue;
    idx.tracks.push_back(static_cast<int>(k));
    for (int c = 0; c < 3; ++c) p.points.push_back(r.points[k].X[c]);
    for (int o = start[k]; o < start[k + 1]; ++o) {
      const auto& e = obs[order[o]];
      p.obs_image.push_back(e[1]);
      const Eigen::Vector2d& kp = r.sh->in->images[idx.images[e[1]]].keypoints[e[2]];
      p.obs_xy.push_back(kp.x());
      p.obs_xy.push_back(kp.y());
    }
    p.point_obs.push_back(static_cast<int>(p.obs_image.size()));
  }
  p.num_points = static_cast<int>(idx.tracks.size());
  p.num_obs = static_cast<int>(p.obs_image.size());
  return p;
}

void read_back(Recon& r, const ba::Problem& p, const FlatIndex& idx) {
  for (int k = 0; k < p.num_images; ++k) {
    const double* q = &p.poses[7 * k];
    r.R[idx.images[k]] = Eigen::Quaterniond(q[0], q[1], q[2], q[3]).normalized().toRotationMatrix();
    r.t[idx.images[k]] = Eigen::Vector3d(q[4], q[5], q[6]);
  }
  for (int c = 0; c < p.num_cameras; ++c) {
    ColmapCamera& cam = r.cameras.at(idx.camera_ids[c]);
    for (size_t k = 0; k < cam.params.size(); ++k) cam.params[k] = p.cam_params[ba::kMaxCamParams * c + k];
  }
  for (int j = 0; j < p.num_points; ++j)
    r.points[idx.tracks[j]].X = Eigen::Vector3d(p.points[3 * j], p.points[3 * j + 1], p.points[3 * j + 2]);
}

// Intrinsics are refined only once the model has 3 images: two views leave them ill-conditioned (PINHOLE's
// fx and fy drift apart along the baseline, e.g. 1834 vs 1217 px on fountain-P11, and the distorted
// structure then fails the next registrations).
constexpr size_t kMinImagesForIntrinsics = 3;

BundleOptions ba_options(const Recon& r, const MapperOptions& opt) {
  BundleOptions b;
  const bool intrinsics = r.reg_order.size() >= kMinImagesForIntrinsics;
  b.refine_focal = opt.refine_focal && intrinsics;
  b.refine_principal_point = opt.refine_principal_point && intrinsics;
  b.refine_extra_params = opt.refine_extra_params && intrinsics;
  b.device = opt.device;
  return b;
}

// The GPU solver pays launch and transfer overheads that only large problems repay (on an H100, CUDA beats the
// CPU from ~100k residuals: 30 images / 41k residuals 0.054 s CPU vs 0.090 s CUDA; 100 / 235k 1.04 vs 0.22 s).
constexpr size_t kMinObservationsForGpu = 50000;

Device ba_device(const ColmapModel& m, const MapperOptions& opt) {
  size_t obs = 0;
  for (const auto& [id, p] : m.points) obs += p.track.size();
  return obs >= kMinObservationsForGpu ? opt.device : Device::cpu();
}

void debug_summary(const BundleSummary& s, const char* what) {
  if (std::getenv("VGSPLAT_MAPPER_DEBUG"))
    std::fprintf(stderr, "%s BA: %d residuals, %d iterations, %.3f s (setup %.3f s), cost %.1f -> %.1f (%s)\n", what,
                 s.num_residuals, s.iterations, s.seconds, s.setup_seconds, s.initial_cost, s.final_cost,
                 s.termination.c_str());
}

}  // namespace

void local_bundle_adjust(Recon& r, int image, const MapperOptions& opt) {
  // The images sharing most points with `image` (COLMAP's FindLocalBundle, without the angle criterion).
  std::map<int, int> shared;
  for (int track : r.sh->track_of[image]) {
    if (track < 0 || !r.points[track].valid) continue;
    for (const TrackElement& e : r.points[track].obs)
      if (static_cast<int>(e.image) != image) ++shared[e.image];
  }
  std::vector<std::pair<int, int>> ranked;
  for (auto [i, n] : shared) ranked.push_back({n, i});
  std::sort(ranked.rbegin(), ranked.rend());
  std::set<int> local{image};
  for (size_t k = 0; k < ranked.size() && static_cast<int>(local.size()) < opt.local_ba_num_images; ++k)
    local.insert(ranked[k].second);

  std::vector<char> point_in(r.points.size(), 0);
  std::set<int> all_images(local);
  std::vector<int> tracks;
  for (int i : local)
    for (size_t f = 0; f < r.observed[i].size(); ++f) {
      const int track = r.sh->track_of[i][f];
      if (track < 0 || !r.observed[i][f] || point_in[track]) continue;
      point_in[track] = 1;
      tracks.push_back(track);
      for (const TrackElement& e : r.points[track].obs) all_images.insert(e.image);
    }
  if (tracks.empty()) return;
  ColmapModel m = build_problem(r, std::vector<int>(all_images.begin(), all_images.end()), point_in);
  BundleOptions b = ba_options(r, opt);
  b.loss = BundleOptions::Loss::SoftL1;  // COLMAP: soft-L1 with scale 1 in local BA
  b.loss_scale = 1.0;
  b.max_iterations = 25;
  b.gradient_tolerance = 10.0;  // COLMAP's local BA (Ceres semantics: max gradient component)
  // A local BA only polishes the newest images (the global refinements follow): stop at 0.01% relative change
  // (~8 iterations instead of ~18 at 1e-6 on fox; same final accuracy).
  b.function_tolerance = 1e-4;
  b.device = ba_device(m, opt);
  std::set<uint32_t> local_cams;
  for (int i : local) local_cams.insert(r.sh->in->images[i].camera_id);
  for (int i : all_images) {
    if (local.count(i)) continue;
    b.constant_poses.insert(static_cast<uint32_t>(i + 1));
    const uint32_t cid = r.sh->in->images[i].camera_id;
    if (!local_cams.count(cid)) b.constant_cameras.insert(cid);
  }
  debug_summary(bundle_adjust(m, b), "local");
  read_back(r, m);
  filter_points(r, tracks, opt);
  for (int track : tracks) complete_track(r, track, opt);
}

BundleSummary bundle_adjust_registered(Recon& r, const BundleOptions& b,
                                       const std::function<void(const ColmapModel&, const BundleOptions&)>& before) {
  std::vector<char> point_in(r.points.size(), 0);
  bool any = false;
  for (size_t k = 0; k < r.points.size(); ++k) point_in[k] = r.points[k].valid, any |= r.points[k].valid;
  if (!any) return {};
  std::vector<int> images;
  for (size_t i = 0; i < r.registered.size(); ++i)
    if (r.registered[i]) images.push_back(static_cast<int>(i));
  if (before) before(build_problem(r, images, point_in), b);  // the same problem as a model (--dump-ba)
  const auto t0 = std::chrono::steady_clock::now();
  FlatIndex idx;
  ba::Problem p = flat_problem(r, images, point_in, b, idx);
  const BundleSummary s =
      ba::solve(p, b, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (p.num_obs > 0) read_back(r, p, idx);
  return s;
}

void global_bundle_adjust(Recon& r, const MapperOptions& opt, double function_tolerance) {
  BundleOptions b = ba_options(r, opt);
  b.max_iterations = 50;
  b.gradient_tolerance = 1.0;  // COLMAP's global BA
  b.function_tolerance = function_tolerance;
  size_t obs = 0;
  for (const Point& p : r.points) obs += p.valid ? p.obs.size() : 0;
  b.device = obs >= kMinObservationsForGpu ? opt.device : Device::cpu();
  // Gauge: the first two registered images as COLMAP (first pose fixed, one translation of the second).
  b.fix_gauge_automatically = true;
  debug_summary(bundle_adjust_registered(r, b), "global");
}

int filter_images(Recon& r, const MapperOptions& opt) {
  int removed = 0;
  for (int i : std::vector<int>(r.reg_order)) {
    if (!r.registered[i] || r.reg_order.size() <= 2) continue;
    const ColmapCamera& cam = r.camera(i);
    const int model = colmap_model_id(cam.model);
    const double size = static_cast<double>(std::max(cam.width, cam.height));
    bool bogus = false;
    for (int k : camera_focal_idxs(model)) bogus |= cam.params[k] / size < 0.1 || cam.params[k] / size > 10;
    for (int k : camera_extra_idxs(model)) bogus |= std::abs(cam.params[k]) > 1;
    if (!bogus) continue;
    for (size_t f = 0; f < r.observed[i].size(); ++f) {
      if (!r.observed[i][f]) continue;
      Point& p = r.points[r.sh->track_of[i][f]];
      p.obs.erase(std::remove_if(p.obs.begin(), p.obs.end(),
                                 [&](const TrackElement& e) { return static_cast<int>(e.image) == i; }),
                  p.obs.end());
      r.observed[i][f] = 0;
    }
    r.registered[i] = 0;
    r.reg_order.erase(std::find(r.reg_order.begin(), r.reg_order.end(), i));
    ++removed;
  }
  if (removed) filter_all_points(r, opt);
  return removed;
}

ColmapModel to_output_model(const Recon& r) {
  ColmapModel m;
  std::vector<int> images;
  for (size_t i = 0; i < r.registered.size(); ++i)
    if (r.registered[i]) images.push_back(static_cast<int>(i));
  std::vector<char> point_in(r.points.size(), 0);
  for (size_t k = 0; k < r.points.size(); ++k) point_in[k] = r.points[k].valid;
  ColmapModel full = build_problem(r, images, point_in);
  // Renumber points 1..N in track order; colours as the mean of the observations' colours; mean error.
  std::map<int64_t, int64_t> new_id;
  for (auto& [pid, p] : full.points) {
    const int64_t id = static_cast<int64_t>(new_id.size()) + 1;
    new_id[static_cast<int64_t>(pid)] = id;
    std::array<double, 3> rgb{0, 0, 0};
    int nc = 0;
    double err = 0;
    const Point& src = r.points[pid - 1];
    for (const TrackElement& e : src.obs) {
      err += std::sqrt(reproj_error_sq(r, e.image, e.point2d, src.X));
      const auto& colors = r.sh->in->images[e.image].colors;
      if (colors.empty()) continue;
      for (int c = 0; c < 3; ++c) rgb[c] += colors[e.point2d][c];
      ++nc;
    }
    ColmapPoint3D q = p;
    q.id = static_cast<uint64_t>(id);
    for (int c = 0; c < 3; ++c) q.rgb[c] = static_cast<uint8_t>(nc ? std::lround(rgb[c] / nc) : 0);
    q.error = src.obs.empty() ? 0 : err / src.obs.size();
    m.points[q.id] = std::move(q);
  }
  for (auto& [id, im] : full.images) {
    for (int64_t& pid : im.point3D_ids)
      if (pid >= 0) pid = new_id.at(pid);
    m.images[id] = std::move(im);
  }
  m.cameras = std::move(full.cameras);
  return m;
}

}  // namespace vg::mapper
