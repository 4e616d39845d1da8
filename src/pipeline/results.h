// The records of a pipeline run: metadata.json (what ran where and when) and analysis.json (what
// came out: SfM statistics, seconds per stage, training metrics), written atomically.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/sfm_pipeline.h"

namespace vg {

using Clock = std::chrono::system_clock;

// "20260124_181434" (local time), as in results/<P>_<scan>_<stamp>.
std::string folder_timestamp(Clock::time_point t);
// ISO 8601 local time with offset: "2026-01-24T18:14:34+0100".
std::string iso_timestamp(Clock::time_point t);
std::string host_name();

// The SfM statistics as analysis.json stores them (images, registered, cameras, points3D, mean track
// length, mean reprojection error, seconds per step, partial, message, skipped files, camera_setup).
nlohmann::json sfm_stats_json(const SfmStats& s);
// The camera set-up: {"mode", "model", "groups": [{camera_id, model, width, height, params_initial,
// prior_focal_length, focal_source (exif35 | exif | default), exif_camera, images, params_final}]}.
nlohmann::json sfm_cameras_json(const SfmStats& s);

// Fixed facts of this process: vgsplat version and git commit, hostname, GPUs (name, compute capability).
nlohmann::json environment_json();

// Writes pretty-printed JSON atomically (temp file + rename).
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& j);

}  // namespace vg
