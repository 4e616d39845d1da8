// A video as `prepare`'s and `run`'s source: frames into <out_root>/<stem>_standard/images, never next
// to the video; an existing dataset is an error for prepare (unless overwrite) and reused by run.
#include "pipeline/video_dataset.h"

#include <gtest/gtest.h>

#include <fstream>

#include "io/video.h"
#include "pipeline/runner.h"
#include "temp_dir.h"
#include "video_test_util.h"

namespace vg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

#define SKIP_WITHOUT_VIDEO() \
  if (!video_supported()) GTEST_SKIP() << video_unsupported_message()

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(VideoDataset, RecognisesVideoFilesByExtension) {
  TempDir dir("video_dataset_ext");
  std::ofstream(dir.path / "clip.MP4") << "x";
  std::ofstream(dir.path / "clip.mov") << "x";
  std::ofstream(dir.path / "photo.jpg") << "x";
  fs::create_directories(dir.path / "folder.mp4");
  EXPECT_TRUE(is_video_file(dir.path / "clip.MP4"));
  EXPECT_TRUE(is_video_file(dir.path / "clip.mov"));
  EXPECT_FALSE(is_video_file(dir.path / "photo.jpg"));
  EXPECT_FALSE(is_video_file(dir.path / "folder.mp4"));  // a folder is a scene folder
  EXPECT_FALSE(is_video_file(dir.path / "missing.mp4"));
  EXPECT_EQ(video_dataset_dir("/videos/garden walk.mp4", "/data"), fs::path("/data/garden walk_standard"));
  EXPECT_EQ(scene_from_source(dir.path / "photo.jpg", {}), dir.path / "photo.jpg");  // not a video: unchanged
}

TEST(VideoDataset, PrepareExtractsUniformFramesIntoTheDatasetsRoot) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("video_dataset_prepare");
  fs::create_directories(dir.path / "in");
  test::encode_test_video(dir.path / "in" / "clip.mp4", test::cfr_video(30));
  PrepareOptions o;
  o.max_images = 6;
  o.out_root = dir.path / "datasets";
  const PrepareResult r = prepare_dataset(dir.path / "in" / "clip.mp4", o);
  EXPECT_EQ(r.out_dir, dir.path / "datasets" / "clip_standard");
  EXPECT_EQ(r.num_source, 6);
  const std::vector<std::string> want = {"frame_0001.jpg", "frame_0002.jpg", "frame_0003.jpg",
                                         "frame_0004.jpg", "frame_0005.jpg", "frame_0006.jpg"};
  EXPECT_EQ(r.names, want);
  EXPECT_EQ(files_in(r.out_dir / "images"), want);
  EXPECT_EQ(files_in(dir.path / "in"), std::vector<std::string>{"clip.mp4"});  // nothing next to the input
  EXPECT_EQ(files_in(dir.path / "datasets"), std::vector<std::string>{"clip_standard"});  // no temp folder left

  EXPECT_NE(test::error_of([&] { prepare_dataset(dir.path / "in" / "clip.mp4", o); }).find("already exists"),
            std::string::npos);
  o.overwrite = true;
  o.max_images = 3;
  EXPECT_EQ(prepare_dataset(dir.path / "in" / "clip.mp4", o).names.size(), 3u);
  EXPECT_EQ(files_in(r.out_dir / "images").size(), 3u);
}

TEST(VideoDataset, RunSceneExtractsOnceThenReuses) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("video_dataset_run");
  test::encode_test_video(dir.path / "fox.mov", test::cfr_video(20));
  PrepareOptions o;
  o.max_images = 4;
  o.out_root = dir.path / "datasets";
  const fs::path scene = scene_from_source(dir.path / "fox.mov", o);
  EXPECT_EQ(scene, dir.path / "datasets" / "fox_standard");
  EXPECT_EQ(files_in(scene / "images").size(), 4u);
  EXPECT_EQ(scan_name(scene), "fox");  // results/<P>_fox_<time>
  o.max_images = 2;  // the existing dataset is kept
  EXPECT_EQ(scene_from_source(dir.path / "fox.mov", o), scene);
  EXPECT_EQ(files_in(scene / "images").size(), 4u);

  // run_pipeline on it names the results after the video.
  Pipeline p{"P1", {{"look", [](RunContext& ctx) { ctx.analysis["n"] = 1; }}}};
  RunOptions ro;
  ro.results_root = dir.path / "results";
  ro.device = "cpu";
  const RunReport rep = run_pipeline(p, scene, ro);
  EXPECT_EQ(rep.result_dir.filename().string().rfind("P1_fox_", 0), 0u) << rep.result_dir;
}

TEST(VideoDataset, WithoutFfmpegSaysHowToRebuild) {
  if (video_supported()) GTEST_SKIP() << "built with FFmpeg";
  TempDir dir("video_dataset_nofmpeg");
  std::ofstream(dir.path / "clip.mp4") << "not decoded";
  PrepareOptions o;
  o.out_root = dir.path / "datasets";
  EXPECT_EQ(test::error_of([&] { prepare_dataset(dir.path / "clip.mp4", o); }), video_unsupported_message());
  EXPECT_FALSE(fs::exists(dir.path / "datasets" / "clip_standard"));
}

}  // namespace
}  // namespace vg
