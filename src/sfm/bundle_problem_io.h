// A bundle-adjustment problem as files, so one problem can be solved by several solvers side by side
// (tools/ba_bench: our CPU and CUDA solvers, Ceres): <dir>/cameras.bin, images.bin, points3D.bin (a COLMAP
// model: initial values and observations) and <dir>/ba_options.json (the BundleOptions that go with it).
#pragma once
#include <filesystem>
#include <utility>

#include <nlohmann/json.hpp>

#include "io/colmap.h"
#include "sfm/bundle_adjustment.h"

namespace vg {

nlohmann::json bundle_options_json(const BundleOptions& opt);     // every field but device and verbose
BundleOptions bundle_options_from_json(const nlohmann::json& j);  // vg::Error naming a bad field
// Writes the problem atomically (the folder is built beside `dir` and renamed over it).
void write_bundle_problem(const std::filesystem::path& dir, const ColmapModel& m, const BundleOptions& opt);
std::pair<ColmapModel, BundleOptions> read_bundle_problem(const std::filesystem::path& dir);

}  // namespace vg
