// `--tracks vggsfm` without its weights: one line naming the missing published files and where they are, before
// anything runs (tracks/tracker_weights.h, pipeline/vggt_tracks.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "pipeline/vggt_tracks.h"
#include "tests/temp_dir.h"
#include "tracks/tracker_weights.h"

namespace vg::tracks {
namespace {

TEST(TrackerWeights, NoFolderSaysWhatToGet) {
  unsetenv("VGSPLAT_TRACKER_WEIGHTS");
  const std::string msg = test::error_of([] { resolve_tracker_weights(""); });
  EXPECT_NE(msg.find("--tracker-weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("vggsfm_v2_tracker.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--tracks sift"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(TrackerWeights, MissingFilesAreNamedWithTheirUrls) {
  test::TempDir dir("tracker_weights");
  std::ofstream(dir.path / "aliked-n16.pth") << "x";
  std::ofstream(dir.path / "superpoint_v1.pth") << "x";
  setenv("VGSPLAT_TRACKER_WEIGHTS", dir.path.c_str(), 1);
  const std::string msg = test::error_of([] { resolve_tracker_weights(""); });
  unsetenv("VGSPLAT_TRACKER_WEIGHTS");
  EXPECT_NE(msg.find("vggsfm_v2_tracker.pt (VGGSfM v2 tracker, https://huggingface.co/"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dinov2_vitb14_reg4_pretrain.pth"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("aliked-n16.pth"), std::string::npos) << msg;  // present
  for (const auto& f : tracker_weight_files()) std::ofstream(dir.path / f.name) << "x";
  const TrackerWeightPaths p = resolve_tracker_weights(dir.path.string());
  EXPECT_EQ(p.dino.filename(), "dinov2_vitb14_reg4_pretrain.pth");
}

TEST(TrackerWeights, VggsfmNeedsSquareFrames) {
  test::TempDir dir("tracker_weights_sq");
  for (const auto& f : tracker_weight_files()) std::ofstream(dir.path / f.name) << "x";
  VggsfmTrackOptions opt;
  opt.weights_dir = dir.path.string();
  EXPECT_NO_THROW(check_vggsfm_inputs(opt, "square"));
  const std::string msg = test::error_of([&] { check_vggsfm_inputs(opt, "crop"); });
  EXPECT_NE(msg.find("--vggt-resize square"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vg::tracks
