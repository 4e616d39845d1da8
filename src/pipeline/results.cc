#include "pipeline/results.h"

#include <unistd.h>

#include <ctime>

#include "core/build_info.h"
#include "core/device.h"
#include "core/fs.h"

namespace vg {

namespace {
std::string format_local(Clock::time_point t, const char* fmt) {
  const std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), fmt, &tm);
  return buf;
}
}  // namespace

std::string folder_timestamp(Clock::time_point t) { return format_local(t, "%Y%m%d_%H%M%S"); }
std::string iso_timestamp(Clock::time_point t) { return format_local(t, "%Y-%m-%dT%H:%M:%S%z"); }

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

nlohmann::json sfm_cameras_json(const SfmStats& s) {
  nlohmann::json groups = nlohmann::json::array();
  for (const CameraGroup& g : s.camera_setup.groups) {
    nlohmann::json j = {{"camera_id", g.camera.id},
                        {"model", g.camera.model},
                        {"width", g.camera.width},
                        {"height", g.camera.height},
                        {"params_initial", g.camera.params},
                        {"prior_focal_length", g.prior_focal},
                        {"focal_source", g.focal_source},
                        {"exif_camera", g.exif_camera},
                        {"images", g.image_names}};
    auto f = s.final_cameras.find(g.camera.id);
    j["params_final"] = f == s.final_cameras.end() ? nlohmann::json(nullptr) : nlohmann::json(f->second.params);
    groups.push_back(std::move(j));
  }
  return {{"mode", s.camera_mode}, {"model", s.camera_setup.model}, {"groups", groups}};
}

nlohmann::json sfm_stats_json(const SfmStats& s) {
  nlohmann::json seconds = nlohmann::json::object();
  for (const auto& [step, sec] : s.seconds) seconds[step] = sec;
  return {{"images", s.images_found},
          {"camera_setup", sfm_cameras_json(s)},
          {"images_used", s.images_used},
          {"registered_images", s.registered},
          {"cameras", s.cameras},
          {"points3D", s.points3D},
          {"mean_track_length", s.mean_track_length},
          {"mean_reprojection_error", s.mean_reprojection_error},
          {"features", s.num_features},
          {"pairs_matched", s.num_pairs},
          {"pairs_verified", s.num_verified_pairs},
          {"verified_matches", s.num_verified_matches},
          {"other_models_registered", s.other_models},
          {"skipped", s.skipped},
          {"seconds_per_step", seconds},
          {"seconds", s.total_seconds},
          {"device", s.device},
          {"partial", s.partial},
          {"message", s.message},
          {"model", s.model_dir.filename().empty() ? "" : "sparse/0"}};
}

nlohmann::json environment_json() {
  nlohmann::json gpus = nlohmann::json::array();
  for (const GpuInfo& g : list_gpus()) {
    gpus.push_back({{"index", g.index},
                    {"name", g.name},
                    {"compute_capability", std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor)},
                    {"memory_bytes", g.total_memory},
                    {"supported", g.supported}});
  }
  return {{"vgsplat_version", build_version()},
          {"git_commit", build_git_commit()},
          {"cuda_archs", build_cuda_archs()},
          {"hostname", host_name()},
          {"gpus", gpus}};
}

void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace vg
