// run_refine: features -> overlap pairs -> matching -> guided verification -> refine_model -> files.
#include "pipeline/refine_pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <Eigen/Geometry>

#include "core/cuda_dense_cholesky.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "io/ply.h"
#include "pipeline/refine_cameras.h"
#include "pipeline/results.h"
#include "pipeline/sfm_pipeline_internal.h"
#include "sfm/bundle_problem_io.h"
#include "sfm/rotation_averaging.h"

namespace vg {

namespace fs = std::filesystem;
using namespace sfm_detail;
using SteadyClock = std::chrono::steady_clock;

namespace {

double since(SteadyClock::time_point t0) { return std::chrono::duration<double>(SteadyClock::now() - t0).count(); }

Eigen::Matrix3d rotation_of(const ColmapImage& im) {
  const Eigen::Quaterniond q(im.qvec[0], im.qvec[1], im.qvec[2], im.qvec[3]);
  return q.normalized().toRotationMatrix();
}

// The initial model's images in name order, each checked against the photos.
std::vector<const ColmapImage*> initial_images(const ColmapModel& init, const fs::path& images_dir) {
  std::vector<const ColmapImage*> ims;
  for (const auto& [id, im] : init.images) ims.push_back(&im);
  VG_CHECK(ims.size() >= 2, "the initial model has ", ims.size(), " image(s): refining needs at least 2");
  std::sort(ims.begin(), ims.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (size_t k = 0; k < ims.size(); ++k) {
    const ColmapImage& im = *ims[k];
    VG_CHECK(k == 0 || ims[k - 1]->name != im.name, "the initial model names image '", im.name, "' twice");
    VG_CHECK(fs::is_regular_file(images_dir / im.name), "the initial model names image '", im.name, "' (id ", im.id,
             ") that is not in ", images_dir.string());
    double qn = 0;
    for (double v : im.qvec) qn += v * v;
    bool finite = std::isfinite(qn) && qn > 1e-12;
    for (double v : im.tvec) finite &= std::isfinite(v);
    VG_CHECK(finite, "the initial pose of image '", im.name, "' (id ", im.id, ") is not finite or has a zero quaternion");
    VG_CHECK(init.cameras.count(im.camera_id), "image '", im.name, "' refers to camera ", im.camera_id,
             " that the initial model does not have");
  }
  return ims;
}

// Typical scene depth per view: the median depth of the model's points it observes (0: none).
std::vector<double> point_depths(const ColmapModel& init, const std::vector<const ColmapImage*>& ims) {
  std::vector<double> depth(ims.size(), 0);
  for (size_t i = 0; i < ims.size(); ++i) {
    const Eigen::Matrix3d R = rotation_of(*ims[i]);
    const Eigen::Vector3d t(ims[i]->tvec[0], ims[i]->tvec[1], ims[i]->tvec[2]);
    std::vector<double> z;
    for (int64_t pid : ims[i]->point3D_ids) {
      auto p = pid >= 0 ? init.points.find(static_cast<uint64_t>(pid)) : init.points.end();
      if (p == init.points.end()) continue;
      const double d = (R * Eigen::Vector3d(p->second.xyz[0], p->second.xyz[1], p->second.xyz[2]) + t).z();
      if (d > 0 && std::isfinite(d)) z.push_back(d);
    }
    if (z.empty()) continue;
    std::nth_element(z.begin(), z.begin() + static_cast<long>(z.size() / 2), z.end());
    depth[i] = z[z.size() / 2];
  }
  return depth;
}

void write_outputs(const fs::path& out_dir, const ColmapModel& m, bool txt) {
  fs::create_directories(out_dir);
  const fs::path tmp = out_dir / (".sparse.tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "0");
  write_colmap_bin(tmp / "0", m);
  if (txt) write_colmap_txt(tmp / "0", m);
  fs::remove_all(out_dir / "sparse");
  fs::rename(tmp, out_dir / "sparse");
  std::vector<float> xyz, rgb;
  for (const auto& [id, p] : m.points)
    for (int c = 0; c < 3; ++c) xyz.push_back(static_cast<float>(p.xyz[c])), rgb.push_back(p.rgb[c] / 255.0f);
  write_points_ply(out_dir / "points.ply", xyz, rgb);
}

// Matching, then guided verification (CPU: both use every core).
GuidedMatchResult match_then_verify(const std::vector<ImageFeatures>& feats, const std::vector<std::pair<int, int>>& pairs,
                                   const SfmOptions& so, const Device& device, int workers,
                                   const std::vector<PosedView>& views,
                                   const std::vector<std::vector<Eigen::Vector2d>>& keypoints, GuidedMatchOptions gopt,
                                   bool progress, double* matching_s) {
  const auto t0 = SteadyClock::now();
  const std::vector<FeatureMatches> matches = match_all_pairs(feats, pairs, so, device, workers);
  *matching_s = since(t0);
  std::unique_ptr<ProgressBar> bar;
  if (progress) bar = std::make_unique<ProgressBar>("verification", static_cast<long long>(pairs.size()));
  if (bar) gopt.progress = [&](int done, int) { bar->update(done); };
  GuidedMatchResult gm = guided_verify(views, keypoints, pairs, matches, gopt);
  if (bar) bar->finish("verified=" + std::to_string(gm.pairs_verified));
  return gm;
}

// GPU: the matcher runs batch after batch on its own thread while the CPU threads verify the pairs of every
// finished batch (the matching's time is hidden behind the RANSAC's).
GuidedMatchResult match_and_verify_overlapped(const std::vector<ImageFeatures>& feats,
                                              const std::vector<std::pair<int, int>>& pairs, const MatchOptions& mopt,
                                              const Device& device, const std::vector<PosedView>& views,
                                              const std::vector<std::vector<Eigen::Vector2d>>& keypoints,
                                              GuidedMatchOptions gopt, bool progress, double* matching_s) {
  const auto t0 = SteadyClock::now();
  const int np = static_cast<int>(pairs.size());
  std::vector<FeatureMatches> matches(pairs.size());
  std::mutex m;
  std::condition_variable cv;
  int ready = 0;
  std::exception_ptr err;
  std::thread matcher([&] {
    try {
      set_current_device(device);
      std::vector<const SiftDescriptors*> sets;
      for (const ImageFeatures& im : feats) sets.push_back(&im.features.descriptors);
      GpuPairMatcher gpu(sets, device);
      gpu.match_many(pairs, mopt, matches, [&](int upto) {
        std::lock_guard<std::mutex> lock(m);
        ready = upto;
        cv.notify_all();
      });
      const GpuPairMatcher::Stats& ms = gpu.stats();
      char line[160];
      std::snprintf(line, sizeof line, "refine: matching in %d batches: %.3f s waiting for the GPU, %.3f s on the CPU",
                    ms.batches, ms.scan_wait_seconds, ms.select_seconds);
      log_info(line);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m);
      err = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(m);
    ready = np;  // also after a failure: the waiting workers go on with empty lists, the error is raised below
    *matching_s = since(t0);
    cv.notify_all();
  });
  gopt.wait_for_pair = [&](int p) {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return ready > p; });
  };
  std::unique_ptr<ProgressBar> bar;
  if (progress) bar = std::make_unique<ProgressBar>("matching+verification", np);
  if (bar) gopt.progress = [&](int done, int) { bar->update(done); };
  GuidedMatchResult gm;
  try {
    gm = guided_verify(views, keypoints, pairs, matches, gopt);
  } catch (...) {
    matcher.join();
    throw;
  }
  matcher.join();
  if (err) std::rethrow_exception(err);
  int64_t total = 0;
  for (const FeatureMatches& fm : matches) total += static_cast<int64_t>(fm.size());
  if (bar) bar->finish("matches=" + std::to_string(total) + " verified=" + std::to_string(gm.pairs_verified));
  return gm;
}

}  // namespace

RefineRunStats run_refine(const fs::path& scene_dir, const ColmapModel& init, const fs::path& out_dir,
                          const RefineRunOptions& opt, const DepthLookup& depth) {
  const auto t_start = SteadyClock::now();
  RefineRunStats st;
  const Device device = resolve_device(opt.device);
  set_current_device(device);
  st.device = device.str();
  // The bundle adjustments' cuSOLVER (library and handle: tens of milliseconds) is opened while features run.
  std::future<void> solver_ready;
  if (device.is_cuda())
    solver_ready = std::async(std::launch::async, [device] {
      set_current_device(device);
      cuda_dense_cholesky_prepare();
    });
  const fs::path images_dir = sfm_images_dir(scene_dir);
  const fs::path out = canonical_loose(out_dir);
  VG_CHECK(!same_or_inside(out, canonical_loose(images_dir)) && !same_or_inside(out, canonical_loose(scene_dir)),
           "output folder ", out.string(), " is inside the input scene ", scene_dir.string(),
           " (it is only read): pass --out DIR elsewhere");
  const std::vector<const ColmapImage*> ims = initial_images(init, images_dir);
  const int n = static_cast<int>(ims.size());
  st.images = n;
  std::set<std::string> named;
  for (const ColmapImage* im : ims) named.insert(im->name);
  for (const fs::path& f : list_image_files(images_dir))
    if (!named.count(f.filename().string())) st.ignored.push_back(f.filename().string());
  if (!st.ignored.empty())
    log_warn(std::to_string(st.ignored.size()) + " file(s) of " + images_dir.string() +
             " are not in the initial model and are ignored (first: " + st.ignored.front() + ")");

  // 1. Features (an image that cannot be decoded or has none keeps its initial pose).
  auto t0 = SteadyClock::now();
  SfmOptions so;
  so.sift = opt.sift;
  so.jpeg_decode = opt.jpeg_decode;
  so.progress = opt.progress;
  so.num_threads = opt.num_threads;
  const int workers = opt.num_threads > 0 ? opt.num_threads : std::max(2, num_threads() / 4);
  std::vector<fs::path> files;
  for (const ColmapImage* im : ims) files.push_back(images_dir / im->name);
  SfmStats fs_stats;
  std::vector<ImageFeatures> extracted = extract_all_features(files, so, device, workers, fs_stats);
  for (const std::string& s : fs_stats.skipped) log_warn("refine: " + s + " (kept at its initial pose)");
  std::vector<ImageFeatures> feats(n);
  for (ImageFeatures& f : extracted) {
    const int i = static_cast<int>(std::find(files.begin(), files.end(), f.path) - files.begin());
    feats[i] = std::move(f);
  }
  std::vector<std::pair<int, int>> sizes(n);
  for (int i = 0; i < n; ++i) {
    st.num_features += static_cast<int64_t>(feats[i].points.size());
    if (feats[i].width == 0) {  // not decoded: trust the initial camera's size
      const ColmapCamera& c = init.cameras.at(ims[i]->camera_id);
      feats[i].width = static_cast<int>(c.width), feats[i].height = static_cast<int>(c.height);
    }
    sizes[i] = {feats[i].width, feats[i].height};
  }
  st.seconds.emplace_back("features", since(t0));

  // 2. Cameras and views; candidate pairs from the initial poses' overlap.
  t0 = SteadyClock::now();
  std::vector<ColmapCamera> init_cams;
  std::vector<std::string> names;
  for (const ColmapImage* im : ims) init_cams.push_back(init.cameras.at(im->camera_id)), names.push_back(im->name);
  refine_detail::CameraSetup cams =
      refine_detail::setup_cameras(init_cams, sizes, names, opt.camera_model, opt.single_camera);
  st.notes = cams.notes;
  for (const std::string& note : st.notes) log_info("refine: " + note);
  const std::vector<double> depths = point_depths(init, ims);
  std::vector<PosedView> views(n);
  for (int i = 0; i < n; ++i) {
    views[i].camera = cams.cameras.at(cams.image_camera[i]);
    views[i].R = rotation_of(*ims[i]);
    views[i].t = Eigen::Vector3d(ims[i]->tvec[0], ims[i]->tvec[1], ims[i]->tvec[2]);
    views[i].depth = depths[i];
  }
  estimate_view_depths(views);
  std::vector<std::pair<int, int>> pairs;
  for (auto [i, j] : overlap_pairs(views, opt.overlap))
    if (!feats[i].points.empty() && !feats[j].points.empty()) pairs.push_back({i, j});
  st.candidate_pairs = static_cast<int>(pairs.size());
  st.seconds.emplace_back("pairs", since(t0));
  log_info("refine: " + std::to_string(pairs.size()) + " candidate pairs of " + std::to_string(n * (n - 1) / 2) +
           " from the initial poses' view overlap");

  // 3. Matching and guided verification.
  t0 = SteadyClock::now();
  so.match = opt.match;
  std::vector<std::vector<Eigen::Vector2d>> keypoints(n);
  for (int i = 0; i < n; ++i) keypoints[i] = feats[i].points;
  GuidedMatchOptions gopt = opt.guided;
  gopt.seed = opt.seed;
  gopt.num_threads = opt.num_threads;
  double matching_s = 0;
  const GuidedMatchResult gm = device.is_cuda()
                                   ? match_and_verify_overlapped(feats, pairs, so.match, device, views, keypoints, gopt,
                                                                 opt.progress, &matching_s)
                                   : match_then_verify(feats, pairs, so, device, workers, views, keypoints, gopt,
                                                       opt.progress, &matching_s);
  st.seconds.emplace_back("matching", matching_s);
  st.seconds.emplace_back("verification", since(t0) - matching_s);  // what is left after the matching
  st.epipolar_tolerance_px = gm.tolerance_px;
  st.matches = gm.matches_in;
  st.matches_prior_rejected = gm.matches_prior_rejected;
  st.matches_verified = gm.matches_verified;
  st.verified_pairs = gm.pairs_verified;
  st.ransac_pairs = gm.pairs_ransac;
  st.pairs_prior_rejected = gm.pairs_prior_rejected;
  st.prior_rotation_tolerance_deg = std::isfinite(gm.rotation_tolerance_deg) ? gm.rotation_tolerance_deg : 0;
  st.median_prior_rotation_diff_deg = gm.median_rotation_diff_deg;
  st.pairs_rotation_off = static_cast<int>(gm.rotation_off.size());
  st.pair_error_tolerance_px = std::isfinite(gm.pair_error_tolerance_px) ? gm.pair_error_tolerance_px : 0;
  char vline[320];
  char drop[96] = "no pair dropped by the initial epipolar lines", rot[120] = "all used for rotations";
  if (std::isfinite(gm.pair_error_tolerance_px))
    std::snprintf(drop, sizeof drop, "%d dropped with inliers over %.1f px off the initial epipolar lines",
                  gm.pairs_prior_rejected, gm.pair_error_tolerance_px);
  if (std::isfinite(gm.rotation_tolerance_deg))
    std::snprintf(rot, sizeof rot, "%zu not used for rotations (relative rotation off by over %.1f deg)",
                  gm.rotation_off.size(), gm.rotation_tolerance_deg);
  std::snprintf(vline, sizeof vline, "refine: %d of %d pairs verified; %s (median over pairs %.1f px); %s (median "
                "difference from the initial relative rotations %.2f deg)", gm.pairs_ransac,
                static_cast<int>(pairs.size()), drop, gm.median_pair_error_px, rot, gm.median_rotation_diff_deg);
  log_info(vline);

  // 4. Rotations from the verified pairs' relative rotations (the initial ones may be degrees off).
  if (opt.average_rotations) {
    t0 = SteadyClock::now();
    std::vector<RelativeRotation> rel;
    for (const auto& [pr, g] : gm.verified)
      if (!gm.rotation_off.count(pr) && (g.config == TwoViewGeometry::CALIBRATED || g.config == TwoViewGeometry::UNCALIBRATED ||
          g.config == TwoViewGeometry::PLANAR || g.config == TwoViewGeometry::PANORAMIC))
        rel.push_back({pr.first, pr.second, g.cam2_from_cam1_q.normalized().toRotationMatrix(),
                       static_cast<double>(g.inlier_matches.size())});
    std::vector<Eigen::Matrix3d> R0;
    for (const PosedView& v : views) R0.push_back(v.R);
    RotationAveragingReport ra;
    const std::vector<Eigen::Matrix3d> R = average_rotations(R0, rel, {}, &ra);
    double moved = 0;
    for (int i = 0; i < n; ++i) {
      const Eigen::Vector3d C = -views[i].R.transpose() * views[i].t;  // centres stay
      moved += rotation_angle_deg(R[i], views[i].R) / n;
      views[i].R = R[i];
      views[i].t = -R[i] * C;
    }
    st.rotation_pairs = static_cast<int>(rel.size());
    st.rotation_residual_deg = ra.median_residual_deg;
    st.rotation_change_deg = moved;
    st.seconds.emplace_back("rotations", since(t0));
    char line[200];
    std::snprintf(line, sizeof line, "refine: rotation averaging over %zu pairs (%d sweeps): median residual %.3f deg, "
                  "rotations moved by %.3f deg on average", rel.size(), ra.sweeps, ra.median_residual_deg, moved);
    log_info(line);
  }

  // 5. Tracks, triangulation (or depth), iterative refinement.
  t0 = SteadyClock::now();
  RefineInput rin;
  for (const auto& [id, c] : cams.cameras) rin.input.cameras[id] = c, rin.input.camera_has_prior_focal[id] = true;
  for (int i = 0; i < n; ++i) {
    MapperImage mi;
    mi.name = names[i];
    mi.camera_id = cams.image_camera[i];
    mi.keypoints = std::move(feats[i].points);
    mi.colors = std::move(feats[i].colors);
    if (mi.colors.size() != mi.keypoints.size()) mi.colors.clear();
    rin.input.images.push_back(std::move(mi));
    rin.R.push_back(views[i].R);
    rin.t.push_back(views[i].t);
  }
  rin.input.pairs = std::move(gm.verified);
  if (depth) {
    rin.keypoint_depth.resize(n);
    for (int i = 0; i < n; ++i)
      for (const Eigen::Vector2d& kp : rin.input.images[i].keypoints) rin.keypoint_depth[i].push_back(depth(i, kp));
  }
  RefineOptions ropt = opt.refine;
  ropt.device = device;
  ropt.seed = opt.seed;
  ropt.log = [](const std::string& line) { log_info(line); };
  ColmapModel dumped;
  BundleOptions dumped_opt;
  bool have_dump = false;
  if (!opt.dump_ba.empty())
    ropt.on_ba_problem = [&](int, const ColmapModel& m, const BundleOptions& b) {
      if (b.loss == BundleOptions::Loss::Trivial && !have_dump) dumped = m, dumped_opt = b, have_dump = true;
    };
  std::unique_ptr<ProgressBar> rbar;  // stages; the first estimate of their number is its total
  int rbar_total = 0;
  std::string rbar_fields;
  if (opt.progress)
    ropt.progress = [&](int done, int total, const std::string& fields) {
      if (!rbar) rbar = std::make_unique<ProgressBar>("refine", rbar_total = std::max(total, 1));
      rbar->update(std::min(done, rbar_total), rbar_fields = fields);
    };
  if (solver_ready.valid()) solver_ready.get();
  RefineResult rr = refine_model(rin, ropt);
  if (rbar) rbar->update(rbar_total, rbar_fields), rbar->finish(rbar_fields);  // skipped stages count as done
  st.report = rr.report;
  st.seconds.emplace_back("refine", since(t0));
  if (have_dump) {
    write_bundle_problem(opt.dump_ba, dumped, dumped_opt);
    log_info("refine: final bundle-adjustment problem written to " + opt.dump_ba.string());
  }

  // 6. Output.
  t0 = SteadyClock::now();
  write_outputs(out_dir, rr.model, opt.write_txt);
  st.model_dir = out_dir / "sparse" / "0";
  st.seconds.emplace_back("output", since(t0));
  for (const RefineImageReport& ir : st.report.images) {
    st.refined += ir.status == "refined";
    st.registered += ir.status == "registered";
    st.kept_initial += ir.status == "initial";
  }
  st.moved_rotation_deg = opt.moved_rotation_deg;
  st.moved_center = opt.moved_center;
  st.partial = st.report.partial;
  st.message = st.report.message;
  st.total_seconds = since(t_start);
  return st;
}

nlohmann::json refine_stats_json(const RefineRunStats& s) {
  const RefineReport& r = s.report;
  nlohmann::json seconds = nlohmann::json::object();
  for (const auto& [k, v] : s.seconds) seconds[k] = v;
  for (const auto& [k, v] : r.seconds) seconds["refine." + k] = v;
  nlohmann::json its = nlohmann::json::array();
  for (const RefineIteration& it : r.iterations)
    its.push_back({{"stage", it.stage}, {"threshold_px", it.threshold_px}, {"initial_cost", it.initial_cost},
                   {"final_cost", it.final_cost}, {"ba_iterations", it.ba_iterations}, {"termination", it.termination},
                   {"points", it.points}, {"observations", it.observations},
                   {"filtered_observations", it.filtered_observations}, {"mean_reprojection_error", it.mean_reproj_error},
                   {"seconds", it.seconds}, {"ba_seconds", it.ba_seconds}, {"ba_solver_seconds", it.ba_solver_seconds},
                   {"ba_setup_seconds", it.ba_setup_seconds}, {"rounds", it.rounds},
                   {"triangulation_seconds", it.triangulation_seconds}, {"filter_seconds", it.filter_seconds}});
  nlohmann::json images = nlohmann::json::array(), moved = nlohmann::json::array();
  for (const RefineImageReport& ir : r.images) {
    if (ir.rotation_change_deg > s.moved_rotation_deg || ir.center_change > s.moved_center) moved.push_back(ir.name);
    images.push_back({{"name", ir.name}, {"status", ir.status}, {"observations", ir.observations},
                      {"rotation_change_deg", ir.rotation_change_deg}, {"center_change", ir.center_change}});
  }
  return {{"images", s.images},
          {"refined", s.refined},
          {"registered_late", s.registered},
          {"kept_initial", s.kept_initial},
          {"ignored_files", s.ignored},
          {"notes", s.notes},
          {"features", s.num_features},
          {"candidate_pairs", s.candidate_pairs},
          {"ransac_pairs", s.ransac_pairs},
          {"pairs_off_initial_geometry", s.pairs_prior_rejected},
          {"pair_epipolar_tolerance_px", s.pair_error_tolerance_px},
          {"pairs_rotation_off_not_used_for_rotations", s.pairs_rotation_off},
          {"verified_pairs", s.verified_pairs},
          {"epipolar_tolerance_px", s.epipolar_tolerance_px},
          {"prior_rotation_tolerance_deg", s.prior_rotation_tolerance_deg},
          {"median_prior_rotation_diff_deg", s.median_prior_rotation_diff_deg},
          {"rotation_averaging", {{"pairs", s.rotation_pairs}, {"median_residual_deg", s.rotation_residual_deg},
                                  {"mean_rotation_change_deg", s.rotation_change_deg}}},
          {"matches", s.matches},
          {"matches_off_initial_geometry", s.matches_prior_rejected},
          {"matches_verified", s.matches_verified},
          {"tracks_total", r.tracks_total},
          {"tracks_initial", r.tracks_initial},
          {"tracks_from_depth", r.tracks_from_depth},
          {"tracks_kept", r.tracks_kept},
          {"tracks_dropped", r.tracks_dropped},
          {"relocalized_images", r.relocalized},
          {"observations", r.observations},
          {"initial_threshold_px", r.initial_threshold_px},
          {"initial_mean_reprojection_error", r.initial_mean_reproj_error},
          {"final_mean_reprojection_error", r.final_mean_reproj_error},
          {"scene_size", r.scene_size},
          {"iterations", its},
          {"per_image", images},
          {"moved", {{"rotation_deg_over", s.moved_rotation_deg}, {"center_over", s.moved_center}, {"images", moved}}},
          {"seconds_per_step", seconds},
          {"seconds", s.total_seconds},
          {"device", s.device},
          {"partial", s.partial},
          {"message", s.message},
          {"model", "sparse/0"}};
}

}  // namespace vg
