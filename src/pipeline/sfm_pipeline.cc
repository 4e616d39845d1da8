// SfM stage: features -> matching -> two-view geometry -> incremental mapping -> COLMAP model + PLY.
#include "pipeline/sfm_pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <set>
#include <sstream>

#include <Eigen/Geometry>

#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "geometry/camera_models.h"
#include "io/exif.h"
#include "io/ply.h"
#include "pipeline/sfm_pipeline_internal.h"
#include "sfm/mapper_input_io.h"

namespace vg {

namespace fs = std::filesystem;
using namespace sfm_detail;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The camera set-up of the usable images: sizes as decoded, EXIF from the files' heads (sfm_cameras.h).
CameraSetup guess_cameras(const std::vector<ImageFeatures>& images, const SfmOptions& opt) {
  std::vector<CameraImageInfo> info;
  for (const ImageFeatures& im : images) info.push_back({im.name, im.width, im.height, read_exif(im.path)});
  return make_camera_setup(info, opt.camera_mode, opt.camera_model, opt.focal_factor);
}

// The set-up as a mapper cache holds it: its cameras, which images use them and the prior-focal flags.
CameraSetup setup_from_input(const MapperInput& in) {
  CameraSetup s;
  std::map<uint32_t, int> group_of_camera;
  for (size_t i = 0; i < in.images.size(); ++i) {
    const uint32_t id = in.images[i].camera_id;
    auto it = group_of_camera.find(id);
    if (it == group_of_camera.end()) {
      it = group_of_camera.emplace(id, static_cast<int>(s.groups.size())).first;
      CameraGroup g;
      g.camera = in.cameras.at(id);
      auto p = in.camera_has_prior_focal.find(id);
      g.prior_focal = p != in.camera_has_prior_focal.end() && p->second;
      g.focal_source = g.prior_focal ? "prior" : "default";
      s.model = g.camera.model;
      s.groups.push_back(std::move(g));
    }
    s.groups[static_cast<size_t>(it->second)].images.push_back(static_cast<int>(i));
    s.groups[static_cast<size_t>(it->second)].image_names.push_back(in.images[i].name);
    s.group_of_image.push_back(it->second);
  }
  return s;
}

MapperInput mapper_input(std::vector<ImageFeatures>& images, const CameraSetup& setup,
                         std::map<std::pair<int, int>, TwoViewGeometry> pairs) {
  MapperInput in;
  for (const CameraGroup& g : setup.groups) {
    in.cameras[g.camera.id] = g.camera;
    in.camera_has_prior_focal[g.camera.id] = g.prior_focal;
  }
  for (size_t i = 0; i < images.size(); ++i) {
    MapperImage im;
    im.name = images[i].name;
    im.camera_id = setup.groups[static_cast<size_t>(setup.group_of_image[i])].camera.id;
    im.keypoints = std::move(images[i].points);
    im.colors = std::move(images[i].colors);
    in.images.push_back(std::move(im));
    images[i].features = FeatureSet{};  // descriptors are no longer needed
  }
  in.pairs = std::move(pairs);
  return in;
}

// Models into <out>/sparse/<k> (built beside it, then swapped in), the largest's points into points.ply.
void write_models(const std::vector<ColmapModel>& models, const fs::path& out_dir, bool txt) {
  fs::create_directories(out_dir);
  const fs::path tmp = out_dir / (".sparse.tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  for (size_t k = 0; k < models.size(); ++k) {
    const fs::path dir = tmp / std::to_string(k);
    fs::create_directories(dir);
    write_colmap_bin(dir, models[k]);
    if (txt) write_colmap_txt(dir, models[k]);
  }
  fs::remove_all(out_dir / "sparse");
  fs::rename(tmp, out_dir / "sparse");
  std::vector<float> xyz, rgb;
  for (const auto& [id, p] : models.front().points) {
    for (int c = 0; c < 3; ++c) {
      xyz.push_back(static_cast<float>(p.xyz[c]));
      rgb.push_back(p.rgb[c] / 255.0f);
    }
  }
  write_points_ply(out_dir / "points.ply", xyz, rgb);
}

// Image names the mapper may leave empty: take them from the input (image id = index + 1).
void fill_names(std::vector<ColmapModel>& models, const MapperInput& in) {
  for (ColmapModel& m : models)
    for (auto& [id, im] : m.images)
      if (im.name.empty() && id >= 1 && id <= in.images.size()) im.name = in.images[id - 1].name;
}

std::string outcome_message(const SfmStats& s) {
  std::ostringstream os;
  if (!s.partial) {
    os << "all " << s.registered << " images registered";
  } else {
    os << "only " << s.registered << " of " << s.images_found << " images registered; largest model written";
    if (!s.other_models.empty()) os << " (" << s.other_models.size() << " more in sparse/1..)";
  }
  if (!s.skipped.empty()) os << "; " << s.skipped.size() << " image(s) skipped";
  return os.str();
}

// Features -> matching -> two-view geometry: the mapper's input (steps timed into stats).
MapperInput prepare_mapper_input(const fs::path& images_dir, const SfmOptions& opt, const Device& device,
                                 SfmStats& stats) {
  // SIFT and matching thread inside each call (parallel_for), so by default a few images / pairs run
  // side by side (overlapping decoding and small jobs); RANSAC per pair runs one pair per thread.
  const int workers = opt.num_threads > 0 ? opt.num_threads : std::max(2, num_threads() / 4);
  const int geometry_workers = opt.num_threads > 0 ? opt.num_threads : num_threads();
  const std::vector<fs::path> files = list_image_files(images_dir);
  stats.images_found = static_cast<int>(files.size());
  VG_CHECK(files.size() >= 2, "SfM needs at least 2 images, found ", files.size(), " in ", images_dir.string());

  auto t0 = std::chrono::steady_clock::now();
  std::vector<ImageFeatures> images = extract_all_features(files, opt, device, workers, stats);
  stats.seconds.emplace_back("features", seconds_since(t0));
  stats.images_used = static_cast<int>(images.size());
  for (const std::string& s : stats.skipped) log_warn("skipped " + s);
  VG_CHECK(images.size() >= 2, "SfM needs at least 2 usable images: only ", images.size(), " of ", files.size(),
           " in ", images_dir.string(), " could be decoded and have SIFT features",
           stats.skipped.empty() ? std::string() : " (first problem: " + stats.skipped.front() + ")");

  stats.camera_setup = guess_cameras(images, opt);  // before matching: a bad set-up fails early

  t0 = std::chrono::steady_clock::now();
  std::vector<std::string> names;
  for (const auto& im : images) names.push_back(im.name);
  const std::vector<std::pair<int, int>> pairs = choose_pairs(opt, names);
  stats.num_pairs = static_cast<int>(pairs.size());
  const std::vector<FeatureMatches> matches = match_all_pairs(images, pairs, opt, device, workers);
  stats.seconds.emplace_back("matching", seconds_since(t0));

  t0 = std::chrono::steady_clock::now();
  std::vector<ColmapCamera> cams;
  std::vector<char> prior;
  for (int g : stats.camera_setup.group_of_image) {
    cams.push_back(stats.camera_setup.groups[static_cast<size_t>(g)].camera);
    prior.push_back(stats.camera_setup.groups[static_cast<size_t>(g)].prior_focal);
  }
  auto verified = verify_all_pairs(images, cams, prior, pairs, matches, opt, geometry_workers);
  stats.num_verified_pairs = static_cast<int>(verified.size());
  stats.seconds.emplace_back("geometry", seconds_since(t0));
  VG_CHECK(!verified.empty(), "SfM failed: no image pair of the ", images.size(),
           " usable images has a verified two-view geometry (", stats.num_pairs, " pairs matched, ",
           stats.num_features, " features): do the images overlap?");

  return mapper_input(images, stats.camera_setup, std::move(verified));
}

}  // namespace

fs::path sfm_images_dir(const fs::path& scene_dir) {
  VG_CHECK(fs::is_directory(scene_dir), "scene folder ", scene_dir.string(), " does not exist or is not a folder");
  return fs::is_directory(scene_dir / "images") ? scene_dir / "images" : scene_dir;
}

SfmOptions::Matcher parse_matcher(const std::string& name) {
  if (name == "exhaustive") return SfmOptions::Matcher::Exhaustive;
  if (name == "sequential") return SfmOptions::Matcher::Sequential;
  if (name == "pairs") return SfmOptions::Matcher::PairsFile;
  VG_FAIL("unknown matcher '", name, "' (exhaustive, sequential or pairs)");
}

ModelStats model_stats(const ColmapModel& model) {
  ModelStats s;
  s.registered = static_cast<int>(model.images.size());
  std::set<uint32_t> cams;
  for (const auto& [id, im] : model.images) cams.insert(im.camera_id);
  s.cameras = static_cast<int>(cams.size());
  s.points3D = static_cast<int>(model.points.size());
  double err_sum = 0;
  for (const auto& [id, im] : model.images) {
    auto cam = model.cameras.find(im.camera_id);
    if (cam == model.cameras.end()) continue;
    const int model_id = colmap_model_id(cam->second.model);
    const Eigen::Quaterniond q(im.qvec[0], im.qvec[1], im.qvec[2], im.qvec[3]);
    const Eigen::Matrix3d R = q.normalized().toRotationMatrix();
    const Eigen::Vector3d t(im.tvec[0], im.tvec[1], im.tvec[2]);
    for (size_t k = 0; k < im.point3D_ids.size(); ++k) {
      if (im.point3D_ids[k] < 0) continue;
      auto p = model.points.find(static_cast<uint64_t>(im.point3D_ids[k]));
      if (p == model.points.end()) continue;
      const Eigen::Vector3d x_cam = R * Eigen::Vector3d(p->second.xyz[0], p->second.xyz[1], p->second.xyz[2]) + t;
      const Eigen::Vector2d uv = camera_project<double>(model_id, cam->second.params.data(), x_cam);
      err_sum += (uv - Eigen::Vector2d(im.xys[2 * k], im.xys[2 * k + 1])).norm();
      ++s.observations;
    }
  }
  if (s.points3D > 0) s.mean_track_length = static_cast<double>(s.observations) / s.points3D;
  if (s.observations > 0) s.mean_reprojection_error = err_sum / static_cast<double>(s.observations);
  return s;
}

SfmStats run_sfm(const fs::path& images_dir, const fs::path& out_dir, const SfmOptions& opt) {
  const auto t_start = std::chrono::steady_clock::now();
  SfmStats stats;
  const Device device = resolve_device(opt.device);
  set_current_device(device);
  stats.device = device.str();
  MapperInput in;
  if (!opt.mapper_cache.empty() && fs::exists(opt.mapper_cache)) {
    in = load_mapper_input(opt.mapper_cache);
    stats.images_found = stats.images_used = static_cast<int>(in.images.size());
    stats.num_verified_pairs = static_cast<int>(in.pairs.size());
    log_info("mapper input loaded from " + opt.mapper_cache.string() + " (features, matching, geometry skipped)");
    stats.camera_setup = setup_from_input(in);
    stats.camera_mode = "cache";
  } else {
    in = prepare_mapper_input(images_dir, opt, device, stats);
    stats.camera_mode = camera_mode_name(opt.camera_mode);
    if (!opt.mapper_cache.empty()) save_mapper_input(opt.mapper_cache, in);
  }
  for (const auto& [pair, geometry] : in.pairs)
    stats.num_verified_matches += static_cast<int64_t>(geometry.inlier_matches.size());

  auto t0 = std::chrono::steady_clock::now();
  MapperOptions mopt = opt.mapper;
  mopt.device = device;
  mopt.seed = opt.seed;
  std::unique_ptr<ProgressBar> bar;
  if (opt.progress) bar = std::make_unique<ProgressBar>("mapping", static_cast<long long>(in.images.size()));
  MapperResult mapped = incremental_mapping(in, mopt, [&](int registered, int) {
    if (bar) bar->update(registered);
  });
  if (bar) bar->finish();
  stats.seconds.emplace_back("mapping", seconds_since(t0));
  for (const std::string& line : mapped.log) log_info("mapper: " + line);
  std::vector<ColmapModel>& models = mapped.models;
  std::stable_sort(models.begin(), models.end(),
                   [](const ColmapModel& a, const ColmapModel& b) { return a.images.size() > b.images.size(); });
  VG_CHECK(!models.empty() && models.front().images.size() >= 2, "SfM failed: no model could be built from the ",
           in.images.size(), " usable images (", stats.num_verified_pairs, " verified pairs); see the mapper log");
  fill_names(models, in);

  t0 = std::chrono::steady_clock::now();
  write_models(models, out_dir, opt.write_txt);
  stats.model_dir = out_dir / "sparse" / "0";
  stats.seconds.emplace_back("output", seconds_since(t0));

  const ModelStats ms = model_stats(models.front());
  stats.registered = ms.registered;
  stats.cameras = ms.cameras;
  stats.points3D = ms.points3D;
  stats.mean_track_length = ms.mean_track_length;
  stats.mean_reprojection_error = ms.mean_reprojection_error;
  stats.final_cameras = models.front().cameras;
  for (size_t k = 1; k < models.size(); ++k) stats.other_models.push_back(static_cast<int>(models[k].images.size()));
  stats.partial = stats.registered < stats.images_found;
  stats.message = outcome_message(stats);
  stats.total_seconds = seconds_since(t_start);
  return stats;
}

}  // namespace vg
