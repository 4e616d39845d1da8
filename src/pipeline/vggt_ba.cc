#include "pipeline/vggt_ba.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/progress.h"
#include "io/image.h"
#include "vggt/weights.h"

namespace vg {

namespace fs = std::filesystem;

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// VGGT's cameras as refinement seeds: a focal length that is not positive and finite (untrained weights, a failed
// prediction) becomes COLMAP's guess 1.2 max(W, H), a non-finite pose the identity; returns how many were replaced.
int sanitize_seeds(ColmapModel& m) {
  int fixed = 0;
  for (auto& [id, cam] : m.cameras) {
    bool ok = true;
    for (double v : cam.params) ok &= std::isfinite(v);
    ok &= cam.params.size() >= 3 && cam.params[0] > 0 && cam.params[1] > 0;  // PINHOLE fx, fy
    if (ok) continue;
    cam = ColmapCamera{cam.id, cam.model, cam.width, cam.height,
                       {1.2 * std::max(cam.width, cam.height), 1.2 * std::max(cam.width, cam.height),
                        cam.width / 2.0, cam.height / 2.0}};
    ++fixed;
  }
  for (auto& [id, im] : m.images) {
    bool ok = true;
    for (double v : im.qvec) ok &= std::isfinite(v);
    for (double v : im.tvec) ok &= std::isfinite(v);
    if (ok) continue;
    im.qvec = {1, 0, 0, 0};
    im.tvec = {0, 0, 0};
    ++fixed;
  }
  return fixed;
}

}  // namespace

VggtDepth::VggtDepth(const vggt::VggtPredictions& p, int load_size)
    : depth_(p.depth.to_vector<float>()), coords_(p.original_coords.to_vector<float>()), load_(load_size),
      crop_(p.resize == "crop"), S_(p.depth.size(0)), H_(p.depth.size(1)), W_(p.depth.size(2)) {
  VG_CHECK(p.resize == "square" || p.resize == "crop", "VggtDepth: unknown resize mode '", p.resize, "'");
}

Eigen::Vector2d VggtDepth::model_pixel(int index, const Eigen::Vector2d& px) const {
  VG_CHECK(index >= 0 && index < S_, "VggtDepth: frame ", index, " of ", S_);
  const float* row = coords_.data() + index * 6;  // x1, y1, x2, y2, width, height (vggt/preprocess.h)
  if (crop_) {  // coords in model pixels, one scale per axis
    const double sx = (static_cast<double>(row[2]) - row[0]) / row[4];
    const double sy = (static_cast<double>(row[3]) - row[1]) / row[5];
    return {px.x() * sx + row[0] - 0.5, px.y() * sy + row[1] - 0.5};
  }
  const double to_load = (row[2] - row[0]) / row[4];
  return {(px.x() * to_load + row[0]) * static_cast<double>(W_) / load_ - 0.5,
          (px.y() * to_load + row[1]) * static_cast<double>(H_) / load_ - 0.5};
}

float VggtDepth::operator()(int index, const Eigen::Vector2d& px) const {
  if (index < 0 || index >= S_) return NAN;
  const Eigen::Vector2d m = model_pixel(index, px);
  const double u = m.x(), v = m.y();
  if (u < 0 || v < 0 || u > W_ - 1 || v > H_ - 1) return NAN;
  const int64_t x0 = std::min<int64_t>(static_cast<int64_t>(u), W_ - 2), y0 = std::min<int64_t>(static_cast<int64_t>(v), H_ - 2);
  const double a = u - x0, b = v - y0;
  const float* d = depth_.data() + index * H_ * W_;
  const double z = (1 - a) * (1 - b) * d[y0 * W_ + x0] + a * (1 - b) * d[y0 * W_ + x0 + 1] +
                   (1 - a) * b * d[(y0 + 1) * W_ + x0] + a * b * d[(y0 + 1) * W_ + x0 + 1];
  return static_cast<float>(z);
}

void p3_refine_defaults(RefineRunOptions& r) {
  r.camera_model = "SIMPLE_PINHOLE";  // demo_colmap.py --camera_type
  r.single_camera = false;            // --shared_camera off
  r.refine.max_reproj_error = 8.0;    // --max_reproj_error
}

VggtBaStats run_vggt_ba(const fs::path& scene_dir, const fs::path& out_dir, const VggtBaOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  VG_CHECK(opt.tracks == "sift" || opt.tracks == "vggsfm", "unknown --tracks '", opt.tracks, "' (sift or vggsfm)");
  if (opt.tracks == "vggsfm") check_vggsfm_inputs(opt.vggsfm, opt.vggt.resize);  // before any image is read
  VggtBaStats st;
  const std::vector<fs::path> files = vggt::list_scene_images(scene_dir);
  vggt::check_output_outside_scene(scene_dir, out_dir);
  vggt::resolve_weights_path(opt.vggt.weights);  // checked before any image is read
  if (opt.refine.single_camera) {
    // The shared camera needs one photo size: say so before the network runs.
    const ImageInfo first = read_image_info(files.front());
    for (const fs::path& f : files) {
      const ImageInfo info = read_image_info(f);
      VG_CHECK(info.width == first.width && info.height == first.height, "--shared-camera needs images of one size: ",
               files.front().filename().string(), " is ", first.width, "x", first.height, ", ",
               f.filename().string(), " is ", info.width, "x", info.height);
    }
  }

  // 1. VGGT: cameras and depth (the engine is gone when this returns); the feed-forward model as P2 writes it.
  vggt::VggtPredictions p = vggt::run_vggt_network(files, opt.vggt, st.vggt);
  auto t0 = std::chrono::steady_clock::now();
  vggt::ExportResult ff = vggt::predictions_to_colmap(p, opt.vggt.exp);
  if (!ff.note.empty()) log_warn("vggt: " + ff.note);
  vggt::rename_and_rescale(ff.model, p.names, p.original_coords, opt.vggt.model_size, p.resize);
  vggt::write_export(out_dir / "feedforward", ff, opt.vggt.write_txt);
  st.vggt.confident = ff.confident;
  st.vggt.points = static_cast<int64_t>(ff.xyz.size() / 3);
  st.vggt.model_dir = out_dir / "feedforward";
  st.vggt.seconds.emplace_back("export", since(t0));
  st.vggt.message = vggt::vggt_points_message(st.vggt, opt.vggt.exp);
  if (!ff.note.empty()) st.vggt.message += "; " + ff.note;
  st.vggt.total_seconds = since(t_start);

  if (opt.tracks == "vggsfm") {  // 2'. The original's tracker and its bundle adjustment.
    VggsfmTrackOptions v = opt.vggsfm;
    v.models.device = resolve_device(opt.vggt.device.empty() ? "auto" : opt.vggt.device);
    v.models.precision = opt.vggt.precision.empty() ? "auto" : opt.vggt.precision;  // as VGGT's (demo_colmap's autocast)
    v.ba.camera_type = opt.refine.camera_model.empty() ? "SIMPLE_PINHOLE" : opt.refine.camera_model;
    v.ba.shared_camera = opt.refine.single_camera;
    v.ba.max_reproj_error = opt.refine.refine.max_reproj_error;
    st.refine = refine_with_vggsfm_tracks(p, opt.vggt.load_size, out_dir, v, opt.vggt.write_txt, st.tracks);
    st.total_seconds = since(t_start);
    st.message = st.refine.message;
    return st;
  }

  // 2. Refinement seeded with VGGT's cameras and depth, at the photos' resolution.
  ColmapModel seeds = ff.model;
  if (const int fixed = sanitize_seeds(seeds)) {
    st.seed_note = std::to_string(fixed) + " VGGT camera(s) had an invalid focal length or pose (untrained weights?): "
                   "replaced by COLMAP's default guess before refinement";
    log_warn("vggt: " + st.seed_note);
  }
  const VggtDepth depth(p, opt.vggt.load_size);
  DepthLookup lookup;
  if (opt.depth_points) lookup = [&depth](int i, const Eigen::Vector2d& px) { return depth(i, px); };
  RefineRunOptions ro = opt.refine;
  ro.device = opt.vggt.device;
  ro.write_txt = opt.vggt.write_txt;
  st.refine = run_refine(scene_dir, seeds, out_dir, ro, lookup);
  if (!st.seed_note.empty()) st.refine.notes.push_back(st.seed_note);
  st.total_seconds = since(t_start);
  st.message = st.refine.message;
  return st;
}

nlohmann::json vggt_ba_stats_json(const VggtBaStats& s) {
  nlohmann::json j = {{"vggt", vggt::vggt_stats_json(s.vggt)}, {"refine", refine_stats_json(s.refine)}};
  j["vggt"]["model_dir"] = "feedforward";
  if (!s.tracks.is_null()) j["tracks"] = s.tracks;
  j["seconds"] = s.total_seconds;
  j["message"] = s.message;
  j["partial"] = s.refine.partial;
  return j;
}

}  // namespace vg
