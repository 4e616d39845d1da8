// Binary snapshot of a MapperInput (cameras, keypoints, verified pairs): lets `vgsplat sfm --mapper-cache F`
// re-run incremental mapping without redoing features, matching and two-view geometry (the same role as
// COLMAP's database between `exhaustive_matcher` and `mapper`).
#pragma once
#include <filesystem>

#include "sfm/mapper.h"

namespace vg {

void save_mapper_input(const std::filesystem::path& file, const MapperInput& in);  // atomic (temp + rename)
MapperInput load_mapper_input(const std::filesystem::path& file);  // throws vg::Error on a bad/truncated file

}  // namespace vg
