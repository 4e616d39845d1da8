#include "tracks/tracker_weights.h"

#include <cstdlib>

#include "core/error.h"

namespace vg::tracks {

namespace fs = std::filesystem;

const std::vector<TrackerWeightFile>& tracker_weight_files() {
  static const std::vector<TrackerWeightFile> files = {
      {"vggsfm_v2_tracker.pt", "VGGSfM v2 tracker", "https://huggingface.co/facebook/VGGSfM/resolve/main/vggsfm_v2_tracker.pt"},
      {"aliked-n16.pth", "ALIKED query points", "https://github.com/Shiaoming/ALIKED/raw/main/models/aliked-n16.pth"},
      {"superpoint_v1.pth", "SuperPoint query points",
       "https://github.com/cvg/LightGlue/releases/download/v0.1_arxiv/superpoint_v1.pth"},
      {"dinov2_vitb14_reg4_pretrain.pth", "DINOv2 query-frame ranking",
       "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_reg4_pretrain.pth"},
  };
  return files;
}

TrackerWeightPaths resolve_tracker_weights(const std::string& cli) {
  std::string dir = cli;
  if (dir.empty())
    if (const char* e = std::getenv("VGSPLAT_TRACKER_WEIGHTS")) dir = e;
  std::string names;
  for (const auto& f : tracker_weight_files()) names += std::string(names.empty() ? "" : ", ") + f.name;
  VG_CHECK(!dir.empty(), "--tracks vggsfm needs the tracker's weights: pass --tracker-weights DIR (or set "
           "VGSPLAT_TRACKER_WEIGHTS) to a folder holding ", names, " (published at ",
           tracker_weight_files().front().url, " and the other projects' pages; or use --tracks sift)");
  std::error_code ec;
  VG_CHECK(fs::is_directory(dir, ec), "--tracker-weights: ", dir, " is not a folder (it must hold ", names, ")");
  std::string missing;
  for (const auto& f : tracker_weight_files())
    if (!fs::is_regular_file(fs::path(dir) / f.name, ec))
      missing += std::string(missing.empty() ? "" : "; ") + f.name + " (" + f.role + ", " + f.url + ")";
  VG_CHECK(missing.empty(), "--tracks vggsfm: missing in ", dir, ": ", missing,
           " -- download them there, or use --tracks sift");
  const fs::path d(dir);
  return {d / "vggsfm_v2_tracker.pt", d / "aliked-n16.pth", d / "superpoint_v1.pth",
          d / "dinov2_vitb14_reg4_pretrain.pth"};
}

}  // namespace vg::tracks
