// sfm_compare: aligns COLMAP models to ground-truth cameras (Umeyama similarity on the camera
// centres, geometry/similarity.h compare_poses) and prints them side by side.
//   sfm_compare --gt <strecha gt_dense_cameras folder | transforms.json> --model NAME=DIR [--model ...]
//               [--time NAME=STEP:SECONDS,STEP:SECONDS,...] [--images N] [--per-image K (worst K images)]
//               [--scene NAME --summary FILE (appends one tab-separated line per model: scene, model,
//                registered, mean / max rotation, mean / max centre error, total seconds)]
// Images are matched by file name. Exit status 0 even when a model is missing (shown as "-").
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "core/error.h"
#include "geometry/similarity.h"
#include "io/colmap.h"
#include "tools/gt_cameras.h"

namespace {

namespace fs = std::filesystem;

using GtMap = std::map<std::string, vg::tools::GtCamera>;

struct Row {
  std::string name;
  bool ok = false;
  int registered = 0, matched = 0;
  vg::PoseErrors err;
  // The model itself (stage by stage against COLMAP: what the mapper kept and how well it fits).
  int64_t points = 0, observations = 0;
  double reprojection_px = 0;  // mean over observations (each point's stored error, weighted by its track)
  double focal_error_pct = 0;  // mean |f - f_gt| / f_gt over the registered images (fx; fy where modelled)
  std::vector<std::string> images;  // names in the order of err.rotation_deg / err.center
  std::vector<std::pair<std::string, double>> seconds;
};

// The model's focal length(s) of a camera in COLMAP's parameter order: {fx, fy}.
std::pair<double, double> focal(const vg::ColmapCamera& c) {
  const bool two = c.model == "PINHOLE" || c.model == "OPENCV" || c.model == "OPENCV_FISHEYE" ||
                   c.model == "FULL_OPENCV";
  return {c.params.at(0), c.params.at(two ? 1 : 0)};
}

Row evaluate(const std::string& name, const fs::path& dir, const GtMap& gt) {
  Row r;
  r.name = name;
  if (!fs::exists(dir / "cameras.bin") && !fs::exists(dir / "cameras.txt")) return r;
  const vg::ColmapModel m = vg::read_colmap_model(dir);
  r.registered = static_cast<int>(m.images.size());
  std::vector<Eigen::Matrix4d> est, truth;
  double focal_sum = 0;
  for (const auto& [id, im] : m.images) {
    auto it = gt.find(fs::path(im.name).filename().string());
    if (it == gt.end()) continue;
    est.push_back(im.world_to_camera());
    truth.push_back(it->second.cam_from_world);
    r.images.push_back(im.name);
    const auto [fx, fy] = focal(m.cameras.at(im.camera_id));
    const vg::Intrinsics& K = it->second.K;
    focal_sum += 50 * (std::abs(fx - K.fx) / K.fx + std::abs(fy - K.fy) / K.fy);
  }
  r.matched = static_cast<int>(est.size());
  if (r.matched >= 3) {
    r.err = vg::compare_poses(est, truth);
    r.focal_error_pct = focal_sum / r.matched;
    r.ok = true;
  }
  double err_sum = 0;
  for (const auto& [id, p] : m.points) {
    r.observations += static_cast<int64_t>(p.track.size());
    err_sum += p.error * static_cast<double>(p.track.size());
  }
  r.points = static_cast<int64_t>(m.points.size());
  r.reprojection_px = r.observations ? err_sum / r.observations : 0;
  return r;
}

void print_table(const std::vector<Row>& rows, int num_images) {
  std::printf("%-26s", "");
  for (const Row& r : rows) std::printf("%18s", r.name.c_str());
  std::printf("\n");
  auto line = [&](const char* label, auto value) {
    std::printf("%-26s", label);
    for (const Row& r : rows) std::printf("%18s", value(r).c_str());
    std::printf("\n");
  };
  auto num = [](double v, const char* fmt) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), fmt, v);
    return std::string(buf);
  };
  line("registered", [&](const Row& r) { return std::to_string(r.registered) + "/" + std::to_string(num_images); });
  line("mean rotation error (deg)", [&](const Row& r) { return r.ok ? num(r.err.mean_rotation_deg, "%.4f") : "-"; });
  line("max rotation error (deg)", [&](const Row& r) { return r.ok ? num(r.err.max_rotation_deg, "%.4f") : "-"; });
  line("mean centre error (GT)", [&](const Row& r) { return r.ok ? num(r.err.mean_center, "%.5f") : "-"; });
  line("max centre error (GT)", [&](const Row& r) { return r.ok ? num(r.err.max_center, "%.5f") : "-"; });
  line("focal error (%)", [&](const Row& r) { return r.ok ? num(r.focal_error_pct, "%.3f") : "-"; });
  line("points", [&](const Row& r) { return std::to_string(r.points); });
  line("observations", [&](const Row& r) { return std::to_string(r.observations); });
  line("mean track length", [&](const Row& r) {
    return r.points ? num(static_cast<double>(r.observations) / r.points, "%.2f") : "-";
  });
  line("mean reproj. error (px)", [&](const Row& r) { return r.points ? num(r.reprojection_px, "%.3f") : "-"; });
  std::vector<std::string> steps;
  for (const Row& r : rows)
    for (const auto& [s, v] : r.seconds)
      if (std::find(steps.begin(), steps.end(), s) == steps.end()) steps.push_back(s);
  for (const std::string& s : steps) {
    line(("seconds " + s).c_str(), [&](const Row& r) {
      for (const auto& [k, v] : r.seconds)
        if (k == s) return num(v, "%.2f");
      return std::string("-");
    });
  }
}

// --per-image: the worst images of each model by rotation error.
void print_worst(const Row& r, int count) {
  if (!r.ok) return;
  std::vector<size_t> idx(r.images.size());
  for (size_t k = 0; k < idx.size(); ++k) idx[k] = k;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return r.err.rotation_deg[a] > r.err.rotation_deg[b]; });
  std::printf("%s, worst %d by rotation:\n", r.name.c_str(), count);
  for (int k = 0; k < count && k < static_cast<int>(idx.size()); ++k)
    std::printf("  %-24s %8.4f deg %10.5f\n", r.images[idx[k]].c_str(), r.err.rotation_deg[idx[k]], r.err.center[idx[k]]);
}

// One tab-separated line per model, appended to `path` (tools/sfm_eval.sh's table of all scenes).
void append_summary(const fs::path& path, const std::string& scene, const std::vector<Row>& rows, int num_images) {
  FILE* f = std::fopen(path.c_str(), "a");
  VG_CHECK(f != nullptr, "cannot append to ", path.string());
  for (const Row& r : rows) {
    std::string total = "-";
    for (const auto& [k, v] : r.seconds)
      if (k == "total") {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.2f", v);
        total = buf;
      }
    if (r.ok)
      std::fprintf(f, "%s\t%s\t%d/%d\t%.4f\t%.4f\t%.5f\t%.5f\t%s\n", scene.c_str(), r.name.c_str(), r.registered,
                   num_images, r.err.mean_rotation_deg, r.err.max_rotation_deg, r.err.mean_center, r.err.max_center,
                   total.c_str());
    else
      std::fprintf(f, "%s\t%s\t%d/%d\t-\t-\t-\t-\t%s\n", scene.c_str(), r.name.c_str(), r.registered, num_images,
                   total.c_str());
  }
  std::fclose(f);
}

// "STEP:SEC,STEP:SEC"
std::vector<std::pair<std::string, double>> parse_times(const std::string& s) {
  std::vector<std::pair<std::string, double>> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    const std::string item = s.substr(pos, end - pos);
    const size_t colon = item.find(':');
    VG_CHECK(colon != std::string::npos, "--time: expected STEP:SECONDS, got '", item, "'");
    out.emplace_back(item.substr(0, colon), std::stod(item.substr(colon + 1)));
    pos = end + 1;
  }
  return out;
}

int usage() {
  std::fprintf(stderr,
               "usage: sfm_compare --gt <gt_dense_cameras dir | transforms.json> --model NAME=DIR [--model ...]\n"
               "                   [--time NAME=STEP:SEC,...] [--images N] [--per-image K] [--scene NAME --summary FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    fs::path gt_path, summary;
    std::string scene;
    std::vector<std::pair<std::string, fs::path>> models;
    std::map<std::string, std::string> times;
    int num_images = -1, worst = 0;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (i + 1 >= argc) return usage();
      const std::string v = argv[++i];
      const size_t eq = v.find('=');
      if (a == "--gt") {
        gt_path = v;
      } else if (a == "--images") {
        num_images = std::stoi(v);
      } else if (a == "--scene") {
        scene = v;
      } else if (a == "--summary") {
        summary = v;
      } else if (a == "--per-image") {
        worst = std::stoi(v);
      } else if ((a == "--model" || a == "--time") && eq != std::string::npos) {
        if (a == "--model") models.emplace_back(v.substr(0, eq), v.substr(eq + 1));
        else times[v.substr(0, eq)] = v.substr(eq + 1);
      } else {
        return usage();
      }
    }
    if (gt_path.empty() || models.empty()) return usage();
    const auto gt = vg::tools::read_gt_cameras(gt_path);
    if (num_images < 0) num_images = static_cast<int>(gt.size());
    std::vector<Row> rows;
    for (const auto& [name, dir] : models) {
      rows.push_back(evaluate(name, dir, gt));
      if (times.count(name)) rows.back().seconds = parse_times(times[name]);
    }
    print_table(rows, num_images);
    if (!summary.empty()) append_summary(summary, scene.empty() ? gt_path.parent_path().filename().string() : scene, rows,
                                         num_images);
    for (const Row& r : rows)
      if (worst > 0) print_worst(r, worst);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sfm_compare: error: %s\n", e.what());
    return 1;
  }
}
