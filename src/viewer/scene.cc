#include "viewer/scene.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <sstream>

#include <Eigen/Geometry>

#include "core/error.h"
#include "core/fs.h"
#include "io/ply.h"
#include "io/splat_formats.h"
#include "pipeline/render_model.h"
#include "splat/checkpoint.h"
#include "splat/traj_render.h"

namespace vg {
namespace {

using nlohmann::json;

// The file in `dir` named <prefix><N><suffix> with the largest N (empty path when none).
fs::path newest_numbered(const fs::path& dir, const std::string& prefix, const std::string& suffix, int& step) {
  fs::path best;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() <= prefix.size() + suffix.size() || n.rfind(prefix, 0) != 0 ||
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string digits = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const int s = std::stoi(digits);
    if (best.empty() || s > step) best = e.path(), step = s;
  }
  return best;
}

// cfg.yml as TrainConfig::to_yaml writes it: top-level `key: value` lines, values in JSON form
// (flow lists, numbers, booleans) or plain strings. Nested sections are skipped (not needed here).
TrainConfig read_cfg_yml(const fs::path& path) {
  json j = json::object();
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (line.empty() || line[0] == ' ' || colon == std::string::npos || colon + 2 > line.size()) continue;
    const std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    j[key] = json::parse(value, nullptr, false);
    if (j[key].is_discarded()) j[key] = value;
  }
  return TrainConfig::from_json(j.dump());
}

bool looks_like_dataset(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "sparse", ec) || fs::is_regular_file(dir / "transforms.json", ec) ||
         fs::is_regular_file(dir / "transforms_train.json", ec);
}

ViewerScene file_scene(const fs::path& path) {
  ViewerScene s;
  s.format = is_ply_file(path) ? "ply" : (splat_format_of(path) == SplatFormat::kSpz ? "spz" : "splat");
  if (s.format == "spz") s.axes = "rub";
  s.num_gaussians = read_gaussians(path).size();  // validates the file (one-line error) and counts it
  s.bytes = read_file(path);
  return s;
}

struct RunFiles {
  fs::path model;  // ply, splat, spz or checkpoint
  std::optional<int> step;
  std::optional<TrainConfig> cfg;
  fs::path run_dir;  // results folder ("" for a single file)
};

RunFiles resolve_input(const fs::path& path) {
  std::error_code ec;
  RunFiles r;
  if (!fs::is_directory(path, ec)) {
    VG_CHECK(fs::is_regular_file(path, ec), "cannot read ", path.string(), ": no such file or folder");
    r.model = path;
    return r;
  }
  r.run_dir = path;
  int step = -1;
  r.model = newest_numbered(path / "ply", "point_cloud_", ".ply", step);
  if (r.model.empty()) r.model = newest_numbered(path / "ckpts", "ckpt_", ".safetensors", step);
  VG_CHECK(!r.model.empty(), path.string(), " has no ply/point_cloud_<step>.ply or ckpts/ckpt_<step>.safetensors");
  r.step = step + 1;  // files are named by the 0-based step
  if (fs::is_regular_file(path / "cfg.yml", ec)) r.cfg = read_cfg_yml(path / "cfg.yml");
  return r;
}

}  // namespace

json cameras_json(const Dataset& data) {
  const Eigen::Matrix4d& T = data.transform;
  const double s = std::cbrt(T.topLeftCorner<3, 3>().determinant());
  json out = json::array();
  for (const View* v : all_views(data)) {
    const bool test = std::any_of(data.test.begin(), data.test.end(), [&](const View& t) { return &t == v; });
    Eigen::Matrix4d vm;
    for (int i = 0; i < 16; ++i) vm(i / 4, i % 4) = v->camera.viewmat[i];
    Eigen::Matrix4d w = vm * T;
    w.topRows<3>() /= s;  // the rotation part becomes orthonormal again; pixels are unchanged
    std::vector<double> flat(16);
    for (int i = 0; i < 16; ++i) flat[i] = w(i / 4, i % 4);
    const Camera& c = v->camera;
    out.push_back({{"name", v->name}, {"split", test ? "test" : "train"}, {"width", c.width}, {"height", c.height},
                   {"fx", c.fx}, {"fy", c.fy}, {"cx", c.cx}, {"cy", c.cy}, {"viewmat", flat}});
  }
  return out;
}

ViewerContext viewer_context(const Dataset& data, const TrainConfig& cfg) {
  ViewerContext c;
  c.cameras = cameras_json(data);
  c.background = cfg.background;
  c.antialiased = cfg.antialiased;
  const double s = std::cbrt(data.transform.topLeftCorner<3, 3>().determinant());
  c.near_plane = cfg.near_plane / s;
  c.far_plane = 1000.0 * std::max(1.0f, data.scene_scale) / s;
  return c;
}

json run_stats_json(const fs::path& dir) {
  json out = json::object();
  auto add = [&](const fs::path& p, const std::string& name) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec) || fs::file_size(p, ec) > (1u << 20)) return;
    json j = json::parse(read_file(p), nullptr, false);
    if (!j.is_discarded()) out[name] = std::move(j);
  };
  add(dir / "metadata.json", "metadata.json");
  add(dir / "analysis.json", "analysis.json");
  std::error_code ec;
  std::vector<fs::path> stats;
  for (const auto& e : fs::directory_iterator(dir / "stats", ec))
    if (e.path().extension() == ".json") stats.push_back(e.path());
  std::sort(stats.begin(), stats.end());
  for (const fs::path& p : stats) add(p, "stats/" + p.filename().string());
  return out;
}

ViewerScene ply_scene(const Gaussians& g, const Eigen::Matrix4d& world_to_normalized, std::optional<int> step) {
  static std::atomic<int> counter{0};
  const fs::path tmp = fs::temp_directory_path() /
                       ("vgsplat_view_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".ply");
  ViewerScene s;
  try {
    write_ply_3dgs(tmp, g, world_to_normalized);
    s.bytes = read_file(tmp);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::remove(tmp, ec);
  s.num_gaussians = g.size();
  s.step = step;
  return s;
}

LoadedViewer load_viewer_input(const ViewerInput& in) {
  const RunFiles run = resolve_input(in.path);
  const bool checkpoint = !is_ply_file(run.model) && run.model.extension() != ".splat" &&
                          run.model.extension() != ".spz";
  std::optional<Checkpoint> ck;
  TrainConfig cfg = run.cfg.value_or(TrainConfig{});
  if (checkpoint) {
    ck = load_checkpoint(run.model);
    if (!ck->config_json.empty()) cfg = TrainConfig::from_json(ck->config_json);
  }
  // The dataset: --data-dir, else the run's (its cfg), else the results folder itself (`vgsplat run`).
  std::error_code ec;
  fs::path data_dir = in.data_dir;
  if (data_dir.empty() && !cfg.data_dir.empty() && fs::is_directory(cfg.data_dir, ec)) data_dir = cfg.data_dir;
  if (data_dir.empty() && !run.run_dir.empty() && looks_like_dataset(run.run_dir)) data_dir = run.run_dir;

  LoadedViewer out;
  std::optional<Dataset> data;
  if (!data_dir.empty()) {
    DatasetOptions d;
    d.dir = data_dir;
    d.data_factor = in.data_factor.value_or(cfg.data_factor);
    d.test_every = cfg.test_every;
    d.normalize = cfg.normalize_world_space;
    d.background = cfg.background;
    data = load_dataset(d);
    out.context = viewer_context(*data, cfg);
  } else {
    out.context.background = cfg.background;
    out.context.antialiased = cfg.antialiased;
    out.note = "no dataset found: pass --data-dir to list the cameras";
  }
  if (ck) {
    const Eigen::Matrix4d T = data ? data->transform : Eigen::Matrix4d::Identity();
    out.scene = ply_scene(ck->gaussians, T, ck->step + 1);
  } else {
    out.scene = file_scene(run.model);
    out.scene.step = run.step;
  }
  if (!run.run_dir.empty()) out.context.stats = run_stats_json(run.run_dir);
  return out;
}

SceneStore::SceneStore(ViewerScene scene, ViewerContext context, bool live, double poll_seconds)
    : scene_(std::make_shared<const ViewerScene>(std::move(scene))), context_(std::move(context)), live_(live),
      poll_seconds_(poll_seconds) {}

void SceneStore::publish(ViewerScene scene, json stats) {
  auto next = std::make_shared<const ViewerScene>(std::move(scene));
  std::lock_guard<std::mutex> lock(mu_);
  scene_ = std::move(next);
  context_.stats = std::move(stats);
}

std::shared_ptr<const ViewerScene> SceneStore::scene() const {
  std::lock_guard<std::mutex> lock(mu_);
  return scene_;
}

json SceneStore::info_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  const ViewerScene& s = *scene_;
  return {{"scene", {{"url", "scene/" + s.file_name()}, {"name", s.file_name()}, {"format", s.format}, {"axes", s.axes}}},
          {"cameras", context_.cameras},
          {"stats", context_.stats},
          {"background", context_.background},
          {"antialiased", context_.antialiased},
          {"near", context_.near_plane},
          {"far", context_.far_plane},
          {"num_gaussians", s.num_gaussians},
          {"step", s.step ? json(*s.step) : json(nullptr)},
          {"live", live_},
          {"poll_seconds", poll_seconds_}};
}

json SceneStore::step_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {{"step", scene_->step ? json(*scene_->step) : json(nullptr)}, {"url", "scene/" + scene_->file_name()}};
}

}  // namespace vg
