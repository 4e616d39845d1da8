// run_vggt_p2: demo_colmap.py without --use_ba on the engine of the resolved device (vggt/engine.h), the images
// preprocessed as --vggt-resize says (square: the official demo's; crop: load_and_preprocess_images).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <system_error>

#include "core/error.h"
#include "core/fs.h"
#include "core/progress.h"
#include "vggt/engine.h"
#include "vggt/export.h"
#include "vggt/preprocess.h"

namespace vg::vggt {

namespace fs = std::filesystem;

namespace {

using SteadyClock = std::chrono::steady_clock;

double since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

VggtConfig config_by_name(const std::string& name) {
  if (name == "1b" || name == "VGGT-1B") return VggtConfig{};
  if (name == "tiny") return VggtConfig::tiny();
  VG_FAIL("unknown VGGT configuration '", name, "' (1b or tiny)");
}

}  // namespace

std::vector<fs::path> list_scene_images(const fs::path& scene_dir) {
  VG_CHECK(fs::is_directory(scene_dir), "scene folder ", scene_dir.string(), " does not exist or is not a folder");
  const fs::path dir = fs::is_directory(scene_dir / "images") ? scene_dir / "images" : scene_dir;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && !name.empty() && name[0] != '.') files.push_back(e.path());
  }
  VG_CHECK(!files.empty(), "no images found in ", dir.string());
  std::sort(files.begin(), files.end());
  return files;
}

VggtPredictions run_vggt_network(const std::vector<fs::path>& files, const VggtRunOptions& opt, VggtRunStats& st) {
  VG_CHECK(opt.resize == "square" || opt.resize == "crop", "unknown --vggt-resize '", opt.resize, "' (square or crop)");
  const Device device = resolve_device(opt.device.empty() ? "auto" : opt.device);
  st.device = device.str();
  const VggtConfig cfg = config_by_name(opt.config);
  auto t0 = SteadyClock::now();
  const fs::path weights_file = resolve_weights_path(opt.weights);
  std::unique_ptr<VggtEngine> engine =
      make_vggt_engine(cfg, load_weights(weights_file, cfg, opt.point_head), device, opt.precision);
  st.engine = engine->name();
  st.precision = engine->precision();
  st.seconds.emplace_back("weights", since(t0));

  t0 = SteadyClock::now();
  PreprocessedImages pre = opt.resize == "crop" ? load_and_preprocess_crop(files, opt.model_size)
                                                : load_and_preprocess_square(files, opt.load_size, opt.model_size);
  st.images = static_cast<int>(files.size());
  st.resize = pre.resize;
  st.model_height = pre.images_model.size(2);
  st.model_width = pre.images_model.size(3);
  st.seconds.emplace_back("preprocess", since(t0));
  log_info("vggt: " + std::to_string(st.images) + " images (" + std::to_string(st.model_width) + "x" +
           std::to_string(st.model_height) + ", " + st.resize + "), network on " + st.device + " (" + st.engine +
           " engine, " + st.precision + ")");

  t0 = SteadyClock::now();
  VggtPredictions p;
  {
    VggtOutput net = engine->forward(pre.images_model, {.point_head = opt.point_head});
    st.network_seconds = since(t0);
    st.peak_gpu_memory_bytes = engine->peak_memory_bytes();
    st.seconds.emplace_back("network", st.network_seconds);
    // What the export reads, on the host (counted in "export"); the rest (aggregator tokens) is freed here.
    t0 = SteadyClock::now();
    const Device cpu = Device::cpu();
    p.extrinsics = net.extrinsics.to(cpu);
    p.intrinsics = net.intrinsics.to(cpu);
    p.depth = net.depth.to(cpu);
    p.conf = (opt.point_head ? net.world_points_conf : net.depth_conf).to(cpu);
    if (opt.point_head) p.world_points = net.world_points.to(cpu);
  }
  engine.reset();  // the weights and workspaces go back before the next stage (refinement, training)
  st.seconds.emplace_back("download", since(t0));
  p.images_model = pre.images_model;
  p.images_load = pre.images_load;
  p.original_coords = pre.original_coords;
  p.resize = pre.resize;
  for (const fs::path& f : files) p.names.push_back(f.filename().string());
  return p;
}

void check_output_outside_scene(const fs::path& scene_dir, const fs::path& out_dir) {
  const std::vector<fs::path> files = list_scene_images(scene_dir);
  const fs::path out = canonical_loose(out_dir), scene = canonical_loose(scene_dir),
                 images_dir = canonical_loose(files.front().parent_path());
  VG_CHECK(!same_or_inside(out, images_dir) && !same_or_inside(out, scene),
           "output folder ", out.string(), " is inside the input scene ", scene.string(),
           " (it is only read): pass --out DIR elsewhere");
}

VggtRunStats run_vggt_p2(const fs::path& scene_dir, const fs::path& out_dir, const VggtRunOptions& opt) {
  const auto t_start = SteadyClock::now();
  VggtRunStats st;
  config_by_name(opt.config);
  const std::vector<fs::path> files = list_scene_images(scene_dir);
  check_output_outside_scene(scene_dir, out_dir);
  resolve_weights_path(opt.weights);  // checked before any image is read
  VggtPredictions p = run_vggt_network(files, opt, st);

  auto t0 = SteadyClock::now();
  ExportResult r = predictions_to_colmap(p, opt.exp);
  if (!r.note.empty()) log_warn("vggt: " + r.note);
  rename_and_rescale(r.model, p.names, p.original_coords, opt.model_size, p.resize);
  st.seconds.emplace_back("export", since(t0));

  t0 = SteadyClock::now();
  st.model_dir = canonical_loose(out_dir) / "sparse";
  write_export(st.model_dir, r, opt.write_txt);
  st.seconds.emplace_back("write", since(t0));

  st.confident = r.confident;
  st.points = static_cast<int64_t>(r.xyz.size() / 3);
  st.total_seconds = since(t_start);
  st.message = vggt_points_message(st, opt.exp);
  if (!r.note.empty()) st.message += "; " + r.note;
  return st;
}

std::string vggt_points_message(const VggtRunStats& st, const ExportOptions& exp) {
  char thres[32];
  std::snprintf(thres, sizeof thres, "%g", exp.conf_thres);
  return std::to_string(st.images) + " cameras, " + std::to_string(st.points) + " points (of " +
         std::to_string(st.confident) + " with confidence >= " + thres + ")";
}

nlohmann::json vggt_stats_json(const VggtRunStats& s) {
  nlohmann::json sec = nlohmann::json::object();
  for (const auto& [k, v] : s.seconds) sec[k] = v;
  return {{"images", s.images},
          {"registered", s.images},
          {"points3D", s.points},
          {"confident_points", s.confident},
          {"device", s.device},
          {"engine", s.engine},
          {"precision", s.precision},
          {"resize", s.resize},
          {"model_width", s.model_width},
          {"model_height", s.model_height},
          {"network_seconds", s.network_seconds},
          {"peak_gpu_memory_bytes", s.peak_gpu_memory_bytes},
          {"peak_gpu_memory_gb", static_cast<double>(s.peak_gpu_memory_bytes) / 1e9},
          {"seconds", sec},
          {"total_seconds", s.total_seconds},
          {"model_dir", s.model_dir.string()},
          {"message", s.message}};
}

}  // namespace vg::vggt
