// Where `--tracks vggsfm` finds its four published weight files: one folder given by --tracker-weights DIR or
// $VGSPLAT_TRACKER_WEIGHTS, holding them under their published names. Nothing is downloaded.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace vg::tracks {

struct TrackerWeightFile {
  const char* name;  // the published file name, looked up in the folder
  const char* role;  // what it is for
  const char* url;   // where it is published
};

// vggsfm_v2_tracker.pt, aliked-n16.pth, superpoint_v1.pth, dinov2_vitb14_reg4_pretrain.pth.
const std::vector<TrackerWeightFile>& tracker_weight_files();

struct TrackerWeightPaths {
  std::filesystem::path tracker, aliked, superpoint, dino;
};

// The folder: `cli` when non-empty, else $VGSPLAT_TRACKER_WEIGHTS. Throws ONE line naming every missing file
// and where it is published (or that no folder was given).
TrackerWeightPaths resolve_tracker_weights(const std::string& cli);

}  // namespace vg::tracks
