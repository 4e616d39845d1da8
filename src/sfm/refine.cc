// refine_model: triangulation from known poses (or depth), then iterative global refinement under a
// shrinking reprojection threshold (see refine.h).
#include "sfm/refine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include <Eigen/Geometry>

#include "core/error.h"
#include "core/stats.h"
#include "core/parallel.h"
#include "geometry/camera_models.h"
#include "geometry/similarity.h"
#include "sfm/mapper_state.h"

namespace vg {
namespace {

using mapper::Point;
using mapper::Recon;
using SteadyClock = std::chrono::steady_clock;

double since(SteadyClock::time_point t0) { return std::chrono::duration<double>(SteadyClock::now() - t0).count(); }

void check_input(const RefineInput& in) {
  const size_t n = in.input.images.size();
  VG_CHECK(n >= 2, "refine: need at least 2 images, got ", n);
  VG_CHECK(in.R.size() == n && in.t.size() == n, "refine: ", n, " images but ", in.R.size(), " rotations and ",
           in.t.size(), " translations");
  VG_CHECK(in.keypoint_depth.empty() || in.keypoint_depth.size() == n, "refine: depth given for ",
           in.keypoint_depth.size(), " of ", n, " images");
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = in.input.images[i].name;
    VG_CHECK(in.R[i].allFinite() && in.t[i].allFinite(), "refine: the initial pose of image '", name,
             "' is not finite");
    VG_CHECK(std::abs(in.R[i].determinant() - 1) < 1e-3 &&
                 (in.R[i] * in.R[i].transpose() - Eigen::Matrix3d::Identity()).norm() < 1e-3,
             "refine: the initial rotation of image '", name, "' is not a rotation");
    auto cam = in.input.cameras.find(in.input.images[i].camera_id);
    VG_CHECK(cam != in.input.cameras.end(), "refine: image '", name, "' refers to missing camera ",
             in.input.images[i].camera_id);
    const int model = colmap_model_id(cam->second.model);
    VG_CHECK(camera_model_supported(model), "refine: camera ", cam->first, " has unsupported model '",
             cam->second.model, "'");
    bool ok = static_cast<int>(cam->second.params.size()) == colmap_num_params(model);
    for (double p : cam->second.params) ok &= std::isfinite(p);
    for (int k : camera_focal_idxs(model)) ok &= ok && cam->second.params[k] > 0;
    VG_CHECK(ok, "refine: camera ", cam->first, " (", cam->second.model, ") has invalid parameters (need ",
             colmap_num_params(model), " finite values, positive focal length)");
    if (!in.keypoint_depth.empty())
      VG_CHECK(in.keypoint_depth[i].size() == in.input.images[i].keypoints.size(), "refine: image '", name, "' has ",
               in.input.images[i].keypoints.size(), " keypoints but ", in.keypoint_depth[i].size(), " depths");
  }
}

MapperOptions tri_options(const RefineOptions& opt, double threshold) {
  MapperOptions m;
  m.filter_max_reproj_error = threshold;
  m.min_tri_angle_deg = opt.min_tri_angle_deg;
  m.filter_min_tri_angle_deg = opt.min_tri_angle_deg;
  m.ignore_two_view_tracks = opt.ignore_two_view_tracks;
  m.refine_focal = opt.refine_focal;
  m.refine_principal_point = opt.refine_principal_point;
  m.refine_extra_params = opt.refine_extra_params;
  m.seed = opt.seed;
  m.device = opt.device;
  return m;
}

size_t num_observations(const Recon& r) {
  size_t n = 0;
  for (const Point& p : r.points) n += p.valid ? p.obs.size() : 0;
  return n;
}

// Reprojection errors (pixels) of every observation of the current points, in point order (all threads).
std::vector<double> observation_errors(const Recon& r) {
  std::vector<std::vector<double>> per_point(r.points.size());
  parallel_for(static_cast<int64_t>(r.points.size()), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const Point& p = r.points[k];
      if (!p.valid) continue;
      for (const TrackElement& el : p.obs)
        per_point[k].push_back(std::sqrt(mapper::reproj_error_sq(r, el.image, el.point2d, p.X)));
    }
  }, 512);
  std::vector<double> errs;
  for (const std::vector<double>& v : per_point) errs.insert(errs.end(), v.begin(), v.end());
  return errs;
}

double mean_reproj_error(const Recon& r) {
  const std::vector<double> errs = observation_errors(r);
  double sum = 0;
  for (double e : errs) sum += e;
  return errs.empty() ? 0 : sum / static_cast<double>(errs.size());
}

// The `q` quantile of the current observations' reprojection errors (pixels).
double reproj_error_quantile(const Recon& r, double q) { return quantile(observation_errors(r), q); }

// The point a track's depths give: the per-coordinate median of its observations' unprojected depths.
bool point_from_depth(const Recon& r, const RefineInput& in, const Track& track, Eigen::Vector3d* X) {
  std::vector<double> xs, ys, zs;
  for (const TrackElement& e : track) {
    if (!r.registered[e.image]) continue;
    const float d = in.keypoint_depth[e.image][e.point2d];
    if (!(d > 0) || !std::isfinite(d)) continue;
    const Eigen::Vector2d xn = camera_unproject(r.camera(e.image), in.input.images[e.image].keypoints[e.point2d]);
    const Eigen::Vector3d pc(xn.x() * d, xn.y() * d, d);
    const Eigen::Vector3d pw = r.R[e.image].transpose() * (pc - r.t[e.image]);
    xs.push_back(pw.x()), ys.push_back(pw.y()), zs.push_back(pw.z());
  }
  if (xs.empty()) return false;
  *X = Eigen::Vector3d(quantile(xs, 0.5), quantile(ys, 0.5), quantile(zs, 0.5));
  return true;
}

// Per-observation errors of every track triangulated (multi-view DLT) from all its registered observations:
// how far the initial poses are from agreeing with the matches.
std::vector<double> initial_residuals(const Recon& r) {
  const std::vector<Track>& tracks = r.sh->tracks;
  std::vector<Matrix34d> P(r.registered.size());  // every image's projection, once
  for (size_t i = 0; i < P.size(); ++i)
    if (r.registered[i]) P[i] = r.projection(static_cast<int>(i));
  std::vector<std::vector<double>> per_track(tracks.size());
  parallel_for(static_cast<int64_t>(tracks.size()), [&](int64_t b, int64_t e) {
    std::vector<Matrix34d> Ps;
    std::vector<Eigen::Vector2d> xs;
    std::vector<TrackElement> els;
    for (int64_t k = b; k < e; ++k) {
      Ps.clear(), xs.clear(), els.clear();
      for (const TrackElement& el : tracks[k]) {
        if (!r.registered[el.image]) continue;
        Ps.push_back(P[el.image]);
        xs.push_back(camera_unproject(r.camera(el.image), r.sh->in->images[el.image].keypoints[el.point2d]));
        els.push_back(el);
      }
      Eigen::Vector3d X;
      if (els.size() < 2 || !triangulate_multiview(Ps, xs, &X)) continue;
      for (const TrackElement& el : els) {
        const double sq = mapper::reproj_error_sq(r, el.image, el.point2d, X);
        if (std::isfinite(sq)) per_track[k].push_back(std::sqrt(sq));
      }
    }
  }, 256);
  std::vector<double> errs;  // in track order, as before
  for (const std::vector<double>& v : per_track) errs.insert(errs.end(), v.begin(), v.end());
  return errs;
}

// Calls f(track, rng) for every track on all threads; each track gets its own sampler, seeded from the track id,
// so the result does not depend on the thread count.
template <typename F>
void for_each_track(const Recon& r, uint64_t seed, F&& f) {
  parallel_for(static_cast<int64_t>(r.sh->tracks.size()), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(k));
      f(static_cast<int>(k), rng);
    }
  }, 256);
}

// COLMAP's Retriangulate for every track: continue the points, triangulate the rest (in parallel).
void retriangulate_all(Recon& r, const MapperOptions& mopt, uint64_t seed) {
  for_each_track(r, seed, [&](int k, std::mt19937_64& rng) {
    if (r.points[k].valid) mapper::complete_track(r, k, mopt);
    else mapper::triangulate_track(r, k, mopt, &rng);
  });
}

// Points of the first triangulation: from depth where the track has some, else DLT RANSAC (mapper).
void initial_points(Recon& r, const RefineInput& in, const MapperOptions& mopt, uint64_t seed, RefineReport& rep) {
  const double max_sq = mopt.filter_max_reproj_error * mopt.filter_max_reproj_error;
  std::atomic<int> from_depth{0};
  for_each_track(r, seed, [&](int k, std::mt19937_64& rng) {
    Eigen::Vector3d X;
    if (!in.keypoint_depth.empty() && point_from_depth(r, in, r.sh->tracks[k], &X)) {
      Point& p = r.points[k];
      p.X = X;
      p.valid = true;
      for (const TrackElement& e : r.sh->tracks[k])
        if (r.registered[e.image] && mapper::reproj_error_sq(r, e.image, e.point2d, X) <= max_sq)
          mapper::add_observation(r, k, e);
      if (p.obs.size() < 2) mapper::delete_point(r, k);
      else ++from_depth;
      return;
    }
    mapper::triangulate_track(r, k, mopt, &rng);
  });
  rep.tracks_from_depth = from_depth;
}

// Observations per image in the current points.
std::vector<int> observations_per_image(const Recon& r) {
  std::vector<int> n(r.registered.size(), 0);
  for (const Point& p : r.points)
    if (p.valid)
      for (const TrackElement& e : p.obs) ++n[e.image];
  return n;
}

// Takes images with too few observations out of the adjustment (their observations removed); returns them.
std::vector<int> drop_weak_images(Recon& r, const RefineOptions& opt, const MapperOptions& mopt) {
  const std::vector<int> n = observations_per_image(r);
  std::vector<int> weak;
  for (size_t i = 0; i < n.size(); ++i)
    if (r.registered[i] && n[i] < opt.min_image_observations) weak.push_back(static_cast<int>(i));
  if (weak.empty()) return weak;
  for (int i : weak) {
    r.registered[i] = 0;
    r.reg_order.erase(std::find(r.reg_order.begin(), r.reg_order.end(), i));
  }
  mapper::filter_all_points(r, mopt);  // drops the observations of unregistered images
  return weak;
}

// Principal point and distortion are refined in the final stage only: freed while the poses are still degrees off,
// they can drift into a wrong basin (Herz-Jesus, 3 deg: fx 461, fy 2075, cy -5459 and 13 deg of rotation error).
// The focal lengths are freed from the first stage (RefineOptions::wide_stage_focal).
BundleOptions ba_options(const Recon& r, const RefineOptions& opt, double threshold, bool final_stage) {
  BundleOptions b;
  b.refine_focal = opt.refine_focal && (final_stage || opt.wide_stage_focal);
  b.refine_principal_point = opt.refine_principal_point && final_stage;
  b.refine_extra_params = opt.refine_extra_params && final_stage;
  b.max_iterations = final_stage ? opt.ba_max_iterations : std::min(opt.ba_max_iterations, 100);
  b.function_tolerance = final_stage ? opt.ba_function_tolerance : std::max(opt.ba_function_tolerance, 1e-4);
  b.gradient_tolerance = opt.ba_gradient_tolerance;
  if (!final_stage) {
    b.loss = BundleOptions::Loss::Cauchy;  // wide stages: outliers near the threshold weigh less
    b.loss_scale = threshold;
  }
  if (!opt.refine_poses)
    for (size_t i = 0; i < r.registered.size(); ++i) b.constant_poses.insert(static_cast<uint32_t>(i + 1));
  b.device = opt.device;
  return b;
}

// One IterativeGlobalRefinement stage at `threshold` pixels.
void refine_stage(Recon& r, const RefineOptions& opt, double threshold, bool final_stage, RefineReport& rep) {
  const auto t0 = SteadyClock::now();
  const MapperOptions mopt = tri_options(opt, threshold);
  RefineIteration it;
  char label[64];
  std::snprintf(label, sizeof label, "%s %.2f px", final_stage ? "final" : "threshold", threshold);
  it.stage = label;
  it.threshold_px = threshold;
  // A wide stage needs one round (the next, narrower one polishes); the last one runs to convergence.
  const int rounds = final_stage ? opt.max_refinements : std::min(opt.max_refinements, opt.wide_stage_rounds);
  for (int round = 0; round < rounds; ++round) {
    const size_t before = num_observations(r);
    auto t1 = SteadyClock::now();
    retriangulate_all(r, mopt, opt.seed + 1 + static_cast<uint64_t>(rep.iterations.size()) * 16 + round);
    it.triangulation_seconds += since(t1);
    const int stage_index = static_cast<int>(rep.iterations.size());
    t1 = SteadyClock::now();
    std::function<void(const ColmapModel&, const BundleOptions&)> dump;  // set only when asked: the model costs time
    if (opt.on_ba_problem)
      dump = [&](const ColmapModel& m, const BundleOptions& b) { opt.on_ba_problem(stage_index, m, b); };
    const BundleSummary s = mapper::bundle_adjust_registered(r, ba_options(r, opt, threshold, final_stage), dump);
    if (round == 0) it.initial_cost = s.initial_cost;
    it.final_cost = s.final_cost;
    it.ba_iterations += s.iterations;
    it.ba_seconds += since(t1);
    it.ba_solver_seconds += s.seconds;
    it.ba_setup_seconds += s.setup_seconds;
    ++it.rounds;
    it.termination = s.termination;
    t1 = SteadyClock::now();
    const int removed = mapper::filter_all_points(r, mopt);
    it.filter_seconds += since(t1);
    it.filtered_observations += removed;
    const size_t after = num_observations(r);
    const double change =
        double((after > before ? after - before : before - after) + removed) / double(std::max<size_t>(after, 1));
    if (change < opt.max_refinement_change) break;
  }
  it.points = static_cast<int>(r.num_points());
  it.observations = static_cast<int64_t>(num_observations(r));
  it.mean_reproj_error = mean_reproj_error(r);
  it.seconds = since(t0);
  if (opt.log) {
    char line[256];
    std::snprintf(line, sizeof line, "refine %s: %d points, %lld observations, cost %.4g -> %.4g (%d BA iterations), "
                  "mean error %.3f px, %.2f s", it.stage.c_str(), it.points, static_cast<long long>(it.observations),
                  it.initial_cost, it.final_cost, it.ba_iterations, it.mean_reproj_error, it.seconds);
    opt.log(line);
  }
  rep.iterations.push_back(std::move(it));
}

// RefineOptions::relocalize_images: every registered image checked in parallel, the stuck ones moved (in order).
void relocalize_images(Recon& r, const RefineOptions& opt, double threshold, const std::string& stage,
                       RefineReport& rep) {
  const int n = static_cast<int>(r.registered.size());
  std::vector<mapper::PoseCheck> checks(n);
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      if (r.registered[i])
        checks[i] = mapper::check_image_pose(r, static_cast<int>(i), threshold,
                                             opt.seed + 0x9E37ull * static_cast<uint64_t>(i + 1) + rep.iterations.size());
  }, 1);
  for (int i = 0; i < n; ++i) {
    const mapper::PoseCheck& c = checks[i];
    if (!c.worth_moving()) continue;
    mapper::move_image(r, i, c);
    char line[200];
    std::snprintf(line, sizeof line, "%s before %s: %d -> %d of %d points", r.sh->in->images[i].name.c_str(),
                  stage.c_str(), c.support, c.inliers, c.correspondences);
    rep.relocalized.push_back(line);
    if (opt.log) opt.log(std::string("refine: image re-localised (its pose fitted few of the points others see): ") + line);
  }
}

ColmapImage initial_image(const RefineInput& in, int i) {
  ColmapImage im;
  im.id = static_cast<uint32_t>(i + 1);
  im.camera_id = in.input.images[i].camera_id;
  im.name = in.input.images[i].name;
  const Eigen::Quaterniond q(in.R[i]);
  im.qvec = {q.w(), q.x(), q.y(), q.z()};
  im.tvec = {in.t[i].x(), in.t[i].y(), in.t[i].z()};
  for (const Eigen::Vector2d& kp : in.input.images[i].keypoints) im.xys.push_back(kp.x()), im.xys.push_back(kp.y());
  im.point3D_ids.assign(in.input.images[i].keypoints.size(), -1);
  return im;
}

double scene_size(const std::vector<Eigen::Vector3d>& centers) {
  Eigen::Vector3d lo = centers.front(), hi = centers.front();
  for (const auto& c : centers) lo = lo.cwiseMin(c), hi = hi.cwiseMax(c);
  return (hi - lo).norm();
}

// Pose changes of every image against its initial pose after a similarity alignment of the centres.
void report_pose_changes(const RefineInput& in, const ColmapModel& m, RefineReport& rep) {
  std::vector<Eigen::Matrix4d> est, init;
  std::vector<Eigen::Vector3d> centers;
  for (size_t i = 0; i < in.R.size(); ++i) {
    Eigen::Matrix4d T = Eigen::Matrix4d::Identity();
    T.topLeftCorner<3, 3>() = in.R[i];
    T.topRightCorner<3, 1>() = in.t[i];
    init.push_back(T);
    est.push_back(m.images.at(static_cast<uint32_t>(i + 1)).world_to_camera());
    centers.push_back(-in.R[i].transpose() * in.t[i]);
  }
  rep.scene_size = scene_size(centers);
  if (est.size() < 3 || rep.scene_size <= 0) return;
  const PoseErrors e = compare_poses(est, init);
  for (size_t i = 0; i < rep.images.size(); ++i) {
    rep.images[i].rotation_change_deg = e.rotation_deg[i];
    rep.images[i].center_change = e.center[i] / rep.scene_size;
  }
}

}  // namespace

RefineResult refine_model(const RefineInput& in, const RefineOptions& opt) {
  check_input(in);
  VG_CHECK(opt.max_reproj_error > 0, "refine: --max-reproj-error must be > 0, got ", opt.max_reproj_error);
  const int n = static_cast<int>(in.input.images.size());
  RefineResult res;
  RefineReport& rep = res.report;
  auto t0 = SteadyClock::now();
  mapper::Shared sh = mapper::make_shared(in.input);
  Recon r = mapper::make_recon(sh, opt.seed);
  for (int i = 0; i < n; ++i) {
    r.registered[i] = 1;
    r.reg_order.push_back(i);
    r.R[i] = in.R[i];
    r.t[i] = in.t[i];
  }
  rep.tracks_total = static_cast<int>(sh.tracks.size());
  rep.seconds.emplace_back("tracks", since(t0));
  t0 = SteadyClock::now();

  // The first threshold: wide enough for the initial poses (2x the 75th percentile of the DLT residuals).
  double threshold = opt.initial_max_reproj_error;
  if (threshold <= 0) {
    int64_t size = 0;
    for (const auto& [id, cam] : in.input.cameras) size = std::max({size, cam.width, cam.height});
    const double cap = std::max(opt.max_reproj_error, 0.25 * static_cast<double>(size > 0 ? size : 1000));
    threshold = std::clamp(2 * quantile(initial_residuals(r), 0.75), opt.max_reproj_error, cap);
  }
  threshold = std::max(threshold, opt.max_reproj_error);
  rep.initial_threshold_px = threshold;
  initial_points(r, in, tri_options(opt, threshold), opt.seed, rep);
  rep.tracks_initial = static_cast<int>(r.num_points());
  rep.initial_mean_reproj_error = mean_reproj_error(r);
  std::vector<int> weak = drop_weak_images(r, opt, tri_options(opt, threshold));
  rep.seconds.emplace_back("triangulation", since(t0));
  if (opt.log) {
    char line[200];
    std::snprintf(line, sizeof line, "refine: %d tracks, %d points (%d from depth), mean error %.2f px, first "
                  "threshold %.2f px, %zu weak image(s)", rep.tracks_total, rep.tracks_initial, rep.tracks_from_depth,
                  rep.initial_mean_reproj_error, threshold, weak.size());
    opt.log(line);
  }

  t0 = SteadyClock::now();
  bool enough = r.reg_order.size() >= 2 && static_cast<int>(r.num_points()) >= opt.min_tracks;
  double relocalization_s = 0;
  while (enough) {
    const bool final_stage = threshold <= opt.max_reproj_error;
    if (final_stage && opt.register_weak_images && !weak.empty()) {
      // Weak images against the refined points (P3P RANSAC, COLMAP's registration), then their tracks.
      const auto t1 = SteadyClock::now();
      MapperOptions mopt = tri_options(opt, threshold);
      for (int i : weak)
        if (mapper::register_image(r, i, mopt)) mapper::triangulate_image(r, i, mopt);
      rep.seconds.emplace_back("registration", since(t1));
    }
    if (opt.relocalize_images && !rep.iterations.empty()) {
      const auto t1 = SteadyClock::now();
      char stage[48];
      std::snprintf(stage, sizeof stage, "the %.2f px stage", threshold);
      relocalize_images(r, opt, threshold, stage, rep);
      relocalization_s += since(t1);
    }
    refine_stage(r, opt, threshold, final_stage, rep);
    if (final_stage && opt.final_retriangulation && rep.iterations.size() > 1) {
      // Fresh points from the refined cameras, then the final stage again (see RefineOptions::final_retriangulation).
      const auto t1 = SteadyClock::now();
      for (size_t k = 0; k < r.points.size(); ++k)
        if (r.points[k].valid) mapper::delete_point(r, static_cast<int>(k));
      retriangulate_all(r, tri_options(opt, threshold), opt.seed + 0x5EED);
      rep.seconds.emplace_back("retriangulation", since(t1));
      refine_stage(r, opt, threshold, final_stage, rep);
    }
    // Halve the threshold, or go lower at once when the model already fits far better (3x the 90th percentile of
    // the errors): a converged model skips the intermediate stages.
    if (!final_stage) {
      threshold = std::clamp(3 * reproj_error_quantile(r, 0.9), opt.max_reproj_error,
                             std::max(opt.max_reproj_error, threshold / 2));
      // A stage within 1.5x of the final threshold adds nothing the final one does not (fox: 4.10 then 4.00 px).
      if (threshold < 1.5 * opt.max_reproj_error) threshold = opt.max_reproj_error;
    }
    if (opt.progress) {
      const int done = static_cast<int>(rep.iterations.size());
      const int left = final_stage ? 0 : 1 + static_cast<int>(std::ceil(std::log2(threshold / opt.max_reproj_error)));
      char fields[96];
      std::snprintf(fields, sizeof fields, "cost=%.4g err=%.2fpx pts=%d", rep.iterations.back().final_cost,
                    rep.iterations.back().mean_reproj_error, rep.iterations.back().points);
      opt.progress(done, done + left, fields);
    }
    if (final_stage) break;
  }
  rep.seconds.emplace_back("refinement", since(t0));
  if (opt.relocalize_images) rep.seconds.emplace_back("relocalization", relocalization_s);  // part of the refinement

  rep.tracks_kept = static_cast<int>(r.num_points());
  rep.tracks_dropped = rep.tracks_total - rep.tracks_kept;
  if (rep.tracks_kept < opt.min_tracks || r.reg_order.size() < 2) {
    // Too little to refine: every camera as given, no points.
    for (int i = 0; i < n; ++i) res.model.images[static_cast<uint32_t>(i + 1)] = initial_image(in, i);
    res.model.cameras = in.input.cameras;
    rep.tracks_kept = 0;
    rep.tracks_dropped = rep.tracks_total;
    rep.partial = true;
    rep.message = "only " + std::to_string(r.num_points()) + " tracks survived filtering (need >= " +
                  std::to_string(opt.min_tracks) + "); cameras left as given";
    for (int i = 0; i < n; ++i) rep.images.push_back({in.input.images[i].name, "initial", 0, 0, 0});
    return res;
  }

  res.model = mapper::to_output_model(r);
  for (auto& [id, im] : res.model.images)
    if (im.name.empty()) im.name = in.input.images[id - 1].name;
  const std::vector<int> obs = observations_per_image(r);
  int kept_initial = 0, registered_late = 0;
  const std::set<int> weak_set(weak.begin(), weak.end());
  for (int i = 0; i < n; ++i) {
    RefineImageReport ir{in.input.images[i].name, "refined", obs[i], 0, 0};
    if (!r.registered[i]) {
      res.model.images[static_cast<uint32_t>(i + 1)] = initial_image(in, i);
      res.model.cameras.emplace(in.input.images[i].camera_id, in.input.cameras.at(in.input.images[i].camera_id));
      ir.status = "initial";
      ++kept_initial;
    } else if (weak_set.count(i)) {
      ir.status = "registered";
      ++registered_late;
    }
    rep.images.push_back(ir);
  }
  report_pose_changes(in, res.model, rep);
  rep.observations = static_cast<int64_t>(num_observations(r));
  rep.final_mean_reproj_error = mean_reproj_error(r);
  rep.partial = kept_initial > 0;
  rep.message = std::to_string(n - kept_initial) + " of " + std::to_string(n) + " images refined";
  if (registered_late) rep.message += " (" + std::to_string(registered_late) + " registered against the refined points)";
  if (kept_initial)
    rep.message += "; " + std::to_string(kept_initial) + " kept at their initial pose (fewer than " +
                   std::to_string(opt.min_image_observations) + " observations)";
  return res;
}

}  // namespace vg
