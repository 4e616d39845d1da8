#include "pipeline/vggt_tracks.h"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "core/fs.h"
#include "core/progress.h"
#include "io/ply.h"

namespace vg {

namespace fs = std::filesystem;

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// VGGT's cameras as the track BA's start (as the SIFT path's seeds): a focal length that is not positive and finite
// (untrained weights, a failed prediction) becomes COLMAP's guess 1.2 max(w, h) with the principal point at the
// centre, a non-finite pose the identity. Returns how many were replaced.
int sanitize_cameras(vggt::VggtPredictions& p) {
  const int64_t S = p.depth.size(0), h = p.depth.size(1), w = p.depth.size(2);
  p.intrinsics = p.intrinsics.to(Device::cpu());
  p.extrinsics = p.extrinsics.to(Device::cpu());
  float* K = p.intrinsics.data<float>();
  float* E = p.extrinsics.data<float>();
  int fixed = 0;
  for (int64_t s = 0; s < S; ++s) {
    float* k = K + s * 9;
    bool ok = true;
    for (int i = 0; i < 9; ++i) ok &= std::isfinite(k[i]);
    if (!(ok && k[0] > 0 && k[4] > 0)) {
      const float f = 1.2f * static_cast<float>(std::max(w, h));
      const float v[9] = {f, 0, w / 2.0f, 0, f, h / 2.0f, 0, 0, 1};
      std::copy_n(v, 9, k);
      ++fixed;
    }
    float* e = E + s * 12;
    ok = true;
    for (int i = 0; i < 12; ++i) ok &= std::isfinite(e[i]);
    if (!ok) {
      const float id[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
      std::copy_n(id, 12, e);
      ++fixed;
    }
  }
  return fixed;
}

// unproject_depth_map_to_point_map as an F32 tensor [S,h,w,3].
Tensor unprojected_points(const vggt::VggtPredictions& p) {
  const std::vector<double> pts = vggt::unproject_depth_map_to_point_map(p.depth, p.extrinsics, p.intrinsics);
  Tensor t = Tensor::empty({p.depth.size(0), p.depth.size(1), p.depth.size(2), 3});
  float* d = t.data<float>();
  for (size_t i = 0; i < pts.size(); ++i) d[i] = static_cast<float>(pts[i]);
  return t;
}

// intrinsic[:, :2, :] *= load_size / model_size (demo_colmap.py: 518 -> 1024).
Tensor rescaled_intrinsics(const Tensor& K, double scale) {
  Tensor k = K.to(Device::cpu());
  float* v = k.data<float>();
  for (int64_t s = 0; s < k.size(0); ++s)
    for (int i = 0; i < 6; ++i) v[s * 9 + i] = static_cast<float>(v[s * 9 + i] * scale);
  return k;
}

void write_model(const fs::path& dir, const ColmapModel& m, bool write_txt) {
  fs::create_directories(dir);
  write_colmap_bin(dir, m);
  if (write_txt) write_colmap_txt(dir, m);
  std::vector<float> xyz, rgb;
  for (const auto& [id, pt] : m.points)
    for (int a = 0; a < 3; ++a) {
      xyz.push_back(static_cast<float>(pt.xyz[a]));
      rgb.push_back(pt.rgb[a] / 255.0f);
    }
  write_points_ply(dir / "points.ply", xyz, rgb, /*binary=*/true);
}

void fill_report(const TrackBaResult& r, const tracks::PredictedTracks& tr, const vggt::VggtPredictions& p,
                 RefineRunStats& st) {
  RefineReport& rep = st.report;
  rep.tracks_total = static_cast<int>(r.tracks);
  rep.tracks_initial = static_cast<int>(r.tracks_valid);
  rep.tracks_from_depth = static_cast<int>(r.tracks_valid);  // every point starts at VGGT's unprojected depth
  rep.tracks_kept = static_cast<int>(r.model.points.size());
  rep.tracks_dropped = rep.tracks_total - rep.tracks_kept;
  rep.observations = r.observations;
  rep.initial_mean_reproj_error = r.initial_mean_error;
  rep.final_mean_reproj_error = r.final_mean_error;
  rep.partial = r.partial;
  rep.message = r.message;
  if (r.adjusted) {
    RefineIteration it;
    it.stage = "track BA";
    it.threshold_px = 0;
    it.initial_cost = r.ba.initial_cost;
    it.final_cost = r.ba.final_cost;
    it.ba_iterations = r.ba.iterations;
    it.termination = r.ba.termination;
    it.points = rep.tracks_kept;
    it.observations = r.observations;
    it.mean_reproj_error = r.final_mean_error;
    it.seconds = it.ba_seconds = r.ba.seconds;
    rep.iterations.push_back(it);
  }
  std::vector<uint8_t> weak(p.names.size(), 0);
  for (int s : r.weak_frames) weak[static_cast<size_t>(s)] = 1;
  if (!r.adjusted) std::fill(weak.begin(), weak.end(), uint8_t{1});  // nothing moved
  for (size_t s = 0; s < p.names.size(); ++s) {
    RefineImageReport ir;
    ir.name = p.names[s];
    ir.status = weak[s] ? "initial" : "refined";
    ir.observations = static_cast<int>(r.model.images.at(static_cast<uint32_t>(s + 1)).point3D_ids.size());
    rep.images.push_back(ir);
    (weak[s] ? st.kept_initial : st.refined)++;
  }
  for (const std::string& n : tr.notes) st.notes.push_back(n);
}

}  // namespace

void check_vggsfm_inputs(const VggsfmTrackOptions& opt, const std::string& vggt_resize) {
  VG_CHECK(vggt_resize == "square", "--tracks vggsfm tracks the 1024-px square frames of demo_colmap.py: it needs "
           "--vggt-resize square (got ", vggt_resize, ")");
  tracks::resolve_tracker_weights(opt.weights_dir);
}

RefineRunStats refine_with_vggsfm_tracks(vggt::VggtPredictions p, int load_size, const fs::path& out_dir,
                                         const VggsfmTrackOptions& opt, bool write_txt, nlohmann::json& tracks_json) {
  const auto t_start = std::chrono::steady_clock::now();
  VG_CHECK(p.resize == "square" && p.images_load.defined(), "--tracks vggsfm needs the square-mode frames");
  RefineRunStats st;
  if (const int fixed = sanitize_cameras(p)) {
    st.notes.push_back(std::to_string(fixed) + " VGGT camera(s) had an invalid focal length or pose (untrained "
                       "weights?): replaced by COLMAP's default guess before tracking");
    log_warn("vggt: " + st.notes.back());
  }
  st.images = static_cast<int>(p.names.size());
  st.device = opt.models.device.str();

  auto t0 = std::chrono::steady_clock::now();
  const tracks::TrackModels models =
      tracks::load_track_models(tracks::resolve_tracker_weights(opt.weights_dir), opt.models);
  st.seconds.emplace_back("weights", since(t0));

  t0 = std::chrono::steady_clock::now();
  const Tensor points = unprojected_points(p);
  // The frames go to the networks' device once (predict_tracks keeps them there).
  const Tensor images = opt.models.device.is_cuda() ? p.images_load.to(opt.models.device) : p.images_load;
  tracks::PredictTracksOptions po = opt.predict;
  std::unique_ptr<ProgressBar> bar;  // query rounds (complete_non_vis may add some: a new bar then)
  int bar_total = 0;
  if (!po.progress)
    po.progress = [&bar, &bar_total](int done, int total) {
      if (!bar || total != bar_total) {
        if (bar) bar->finish();
        bar = std::make_unique<ProgressBar>("tracks", total);
        bar_total = total;
      }
      bar->update(done, "query rounds");
    };
  const tracks::PredictedTracks tr = tracks::predict_tracks(images, p.conf, points, models, po);
  if (bar) bar->finish();
  for (const auto& [k, v] : tr.seconds) st.seconds.emplace_back(k, v);

  t0 = std::chrono::steady_clock::now();
  const Tensor K = rescaled_intrinsics(p.intrinsics, static_cast<double>(load_size) / static_cast<double>(p.depth.size(2)));
  TrackBaOptions bo = opt.ba;
  bo.ba.device = opt.models.device;
  TrackBaResult r = tracks_to_model_and_ba(tr.tracks, tr.vis, tr.xyz, tr.rgb, p.extrinsics, K, load_size, load_size, bo);
  vggt::rename_and_rescale(r.model, p.names, p.original_coords, load_size, "square");
  st.seconds.emplace_back("bundle adjustment", since(t0));

  t0 = std::chrono::steady_clock::now();
  st.model_dir = canonical_loose(out_dir) / "sparse" / "0";
  write_model(st.model_dir, r.model, write_txt);
  st.seconds.emplace_back("output", since(t0));

  fill_report(r, tr, p, st);
  st.partial = r.partial;
  st.message = r.message;
  st.total_seconds = since(t_start);
  tracks_json = {{"source", "vggsfm"},
                 {"query_frames", tr.query_frames},
                 {"keypoints_per_round", tr.keypoints_per_round},
                 {"tracks", tr.tracks.size(1)},
                 {"valid_tracks", r.tracks_valid},
                 {"weak_frames", r.weak_frames},
                 {"notes", tr.notes}};
  return st;
}

}  // namespace vg
