// Video in / out through FFmpeg: `frames` on synthetic videos encoded here (CFR, VFR, rotated,
// truncated, not a video, no video stream) and the MP4 writer read back. Skipped without FFmpeg.
#include <gtest/gtest.h>

#include <fstream>

#include "core/fs.h"
#include "io/image.h"
#include "pipeline/frames.h"
#include "temp_dir.h"
#include "video_test_util.h"

namespace vg {
namespace {

using test::TempDir;

#define SKIP_WITHOUT_VIDEO() \
  if (!video_supported()) GTEST_SKIP() << video_unsupported_message()

RgbFrame read_jpeg_rgb(const fs::path& p) {
  const Image img = read_image(p);
  RgbFrame f;
  f.width = img.width;
  f.height = img.height;
  for (float v : img.pixels) f.pixels.push_back(static_cast<uint8_t>(v * 255.0f + 0.5f));
  return f;
}

// Each written frame is pattern `expected[i]` within JPEG tolerance, and closer to it than to its neighbours.
void expect_frames(const FramesResult& r, const std::vector<int64_t>& expected) {
  ASSERT_EQ(r.indices, expected);
  for (size_t i = 0; i < r.files.size(); ++i) {
    const RgbFrame got = read_jpeg_rgb(r.files[i]);
    const int k = static_cast<int>(expected[i]);
    const double d = test::mean_abs_diff(got, test::pattern_frame(k, got.width, got.height));
    EXPECT_LT(d, 6.0) << r.files[i];  // MPEG-4 q2 + 4:2:0 chroma on sharp stripes + JPEG q95
    EXPECT_LT(d, test::mean_abs_diff(got, test::pattern_frame(k + 1, got.width, got.height))) << r.files[i];
    if (k > 0) EXPECT_LT(d, test::mean_abs_diff(got, test::pattern_frame(k - 1, got.width, got.height)));
    char name[32];
    std::snprintf(name, sizeof name, "frame_%04zu.jpg", i + 1);
    EXPECT_EQ(r.files[i].filename().string(), name);
  }
}

TEST(FrameSampling, UniformAndFps) {
  EXPECT_EQ(frame_sample_times(3.0, 3, 0), (std::vector<double>{0.0, 1.0, 2.0}));
  EXPECT_EQ(frame_sample_times(1.0, 0, 4), (std::vector<double>{0.0, 0.25, 0.5, 0.75}));
}

TEST(Frames, UniformCountGivesExactIndicesAndPixels) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("frames_cfr");
  test::encode_test_video(dir.path / "v.mp4", test::cfr_video(90));  // 3 s at 30 fps
  FramesOptions o;
  o.video = dir.path / "v.mp4";
  o.out_dir = dir.path / "out";
  o.count = 10;  // every 0.3 s: frames 0, 9, ..., 81
  FramesResult r = extract_frames(o);
  EXPECT_NEAR(r.info.duration, 3.0, 1e-6);
  EXPECT_EQ(r.info.width, 64);
  EXPECT_EQ(r.info.height, 48);
  EXPECT_TRUE(r.warnings.empty());
  expect_frames(r, {0, 9, 18, 27, 36, 45, 54, 63, 72, 81});

  // --fps 3: every 10th frame; the earlier run's frame_0010.jpg is removed.
  o.count = 0;
  o.fps = 3;
  r = extract_frames(o);
  expect_frames(r, {0, 10, 20, 30, 40, 50, 60, 70, 80});
  EXPECT_FALSE(fs::exists(o.out_dir / "frame_0010.jpg"));
}

TEST(Frames, BFramesAreSkippedAwayFromTheSamplesWithExactIndices) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("frames_bframes");
  test::TestVideo v = test::cfr_video(90);
  v.b_frames = 2;  // decode order differs from presentation order; the B pictures far from a sample are skipped
  test::encode_test_video(dir.path / "v.mp4", v);
  FramesOptions o;
  o.video = dir.path / "v.mp4";
  o.out_dir = dir.path / "out";
  o.count = 5;  // every 18 frames: B pictures more than 4 frames from a sample are not decoded
  const FramesResult r = extract_frames(o);
  expect_frames(r, {0, 18, 36, 54, 72});
  EXPECT_LT(r.decoded, 90);
  EXPECT_GT(r.decoded, 45);
  o.count = 0;
  o.fps = 7.5;  // every 4th frame: B pictures among the samples
  expect_frames(extract_frames(o), {0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76, 80, 84,
                                    88});
}

TEST(Frames, MaxSizeDownscales) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("frames_size");
  test::encode_test_video(dir.path / "v.mp4", test::cfr_video(30));
  FramesOptions o;
  o.video = dir.path / "v.mp4";
  o.out_dir = dir.path / "out";
  o.count = 2;
  o.max_size = 32;
  const FramesResult r = extract_frames(o);
  ASSERT_EQ(r.files.size(), 2u);
  const ImageInfo info = read_image_info(r.files[0]);
  EXPECT_EQ(info.width, 32);
  EXPECT_EQ(info.height, 24);
}

TEST(Frames, VariableFrameRateUsesTimestamps) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("frames_vfr");
  test::TestVideo v;  // 30 frames at 30 fps (0..0.967 s), then 30 frames at 10 fps (1.0..3.9 s)
  for (int k = 0; k < 30; ++k) v.pts_ms.push_back((k * 1000 + 15) / 30);
  for (int k = 0; k < 30; ++k) v.pts_ms.push_back(1000 + 100 * k);
  v.last_duration_ms = 100;
  test::encode_test_video(dir.path / "v.mp4", v);
  FramesOptions o;
  o.video = dir.path / "v.mp4";
  o.out_dir = dir.path / "out";
  o.count = 8;  // every 0.5 s of the 4 s
  const FramesResult r = extract_frames(o);
  EXPECT_NEAR(r.info.duration, 4.0, 1e-6);
  expect_frames(r, {0, 15, 30, 35, 40, 45, 50, 55});
}

TEST(Frames, RotationMetadataIsHonoured) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("frames_rot");
  test::TestVideo v = test::cfr_video(30);
  v.display_rotation = 90;  // the tkhd matrix (0 1 / -1 0) of a phone's portrait clip: shown turned 90 deg clockwise
  test::encode_test_video(dir.path / "v.mp4", v);
  FramesOptions o;
  o.video = dir.path / "v.mp4";
  o.out_dir = dir.path / "out";
  o.count = 1;
  const FramesResult r = extract_frames(o);
  EXPECT_EQ(r.info.rotation, 90);
  ASSERT_EQ(r.files.size(), 1u);
  const RgbFrame got = read_jpeg_rgb(r.files[0]);
  ASSERT_EQ(got.width, 48);
  ASSERT_EQ(got.height, 64);
  const RgbFrame coded = test::pattern_frame(0, 64, 48);
  RgbFrame upright = got;  // clockwise: out(x', y') = coded(x = y', y = H - 1 - x')
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 48; ++x)
      for (int c = 0; c < 3; ++c)
        upright.pixels[(y * 48 + x) * 3 + c] = coded.pixels[((47 - x) * 64 + y) * 3 + c];
  EXPECT_LT(test::mean_abs_diff(got, upright), 6.0);
}

TEST(Frames, TruncatedVideoKeepsDecodedFramesWithWarning) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("frames_trunc");
  test::encode_test_video(dir.path / "v.mp4", test::cfr_video(90));
  std::string bytes = read_file(dir.path / "v.mp4");
  const size_t mdat = bytes.find("mdat");
  ASSERT_NE(mdat, std::string::npos);
  write_file_atomic(dir.path / "half.mp4", bytes.substr(0, mdat + (bytes.size() - mdat) / 2));
  FramesOptions o;
  o.video = dir.path / "half.mp4";
  o.out_dir = dir.path / "out";
  o.count = 10;
  const FramesResult r = extract_frames(o);
  ASSERT_GE(r.files.size(), 2u);
  ASSERT_LT(r.files.size(), 10u);
  for (size_t i = 0; i + 1 < r.indices.size(); ++i) EXPECT_EQ(r.indices[i], int64_t(9 * i));  // the last may be damaged
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings.back().find(" s"), std::string::npos) << r.warnings.back();  // names the position

  // Cut right after the header: nothing decodes -> one clear error.
  write_file_atomic(dir.path / "empty.mp4", bytes.substr(0, mdat + 4));
  o.video = dir.path / "empty.mp4";
  const std::string err = test::error_of([&] { extract_frames(o); });
  EXPECT_NE(err.find("empty.mp4"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

TEST(Frames, BadInputsGiveOneLine) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("frames_bad");
  FramesOptions o;
  o.out_dir = dir.path / "out";
  o.video = dir.path / "missing.mp4";
  std::string err = test::error_of([&] { extract_frames(o); });
  EXPECT_NE(err.find("missing.mp4: no such file"), std::string::npos) << err;

  write_file_atomic(dir.path / "notes.mp4", "this is not a video\n");
  o.video = dir.path / "notes.mp4";
  err = test::error_of([&] { extract_frames(o); });
  EXPECT_NE(err.find("cannot open video"), std::string::npos) << err;

  // A WAV file: audio only.
  std::string wav = "RIFF";
  auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) wav.push_back(char((v >> (8 * i)) & 255)); };
  auto u16 = [&](uint16_t v) { for (int i = 0; i < 2; ++i) wav.push_back(char((v >> (8 * i)) & 255)); };
  const uint32_t samples = 8000;
  u32(36 + samples * 2);
  wav += "WAVEfmt ";
  u32(16), u16(1), u16(1), u32(8000), u32(16000), u16(2), u16(16);
  wav += "data";
  u32(samples * 2);
  wav.append(samples * 2, '\0');
  write_file_atomic(dir.path / "sound.wav", wav);
  o.video = dir.path / "sound.wav";
  err = test::error_of([&] { extract_frames(o); });
  EXPECT_NE(err.find("no video stream"), std::string::npos) << err;
  for (const std::string& e : {err}) EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST(VideoWriter, Mp4ReadsBackWithFrameCountSizeAndPixels) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("video_writer");
  const fs::path path = dir.path / "out.mp4";
  {
    VideoWriter w(path, 96, 48, 30.0);
    for (int k = 0; k < 12; ++k) w.write(test::pattern_frame(k * 3, 96, 48));
    w.close();
    std::printf("H.264 encoder: %s\n", w.encoder_name().c_str());
  }
  VideoReader r(path);
  EXPECT_EQ(r.info().width, 96);
  EXPECT_EQ(r.info().height, 48);
  EXPECT_NEAR(r.info().duration, 12 / 30.0, 1e-3);
  DecodedFrame f;
  int n = 0;
  while (r.next(f)) {
    const RgbFrame rgb = r.to_rgb(f);
    EXPECT_NEAR(f.time, n / 30.0, 1e-3);
    EXPECT_LT(test::mean_abs_diff(rgb, test::pattern_frame(3 * n, 96, 48)), 6.0) << "frame " << n;
    ++n;
  }
  EXPECT_EQ(n, 12);
  EXPECT_TRUE(r.stopped_early().empty()) << r.stopped_early();
}

TEST(VideoWriter, OddSizeIsPadded) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("video_odd");
  VideoWriter w(dir.path / "odd.mp4", 33, 17, 30.0);
  for (int k = 0; k < 3; ++k) w.write(test::pattern_frame(k, 33, 17));
  w.close();
  VideoReader r(dir.path / "odd.mp4");
  EXPECT_EQ(r.info().width, 34);
  EXPECT_EQ(r.info().height, 18);
}

// Pictures a few pixels wide: libswscale's vector stores pass the end of such rows (a fuzzed 2x16 H.264 file
// corrupted the heap); the conversion goes through padded rows, so every size reads back intact.
TEST(VideoReader, NarrowPicturesConvertWithinTheirRows) {
  SKIP_WITHOUT_VIDEO();
  TempDir dir("video_narrow");
  for (const auto& [w, h] : {std::pair{2, 16}, std::pair{16, 2}, std::pair{6, 4}}) {
    const fs::path path = dir.path / ("n" + std::to_string(w) + "x" + std::to_string(h) + ".mp4");
    {
      VideoWriter wr(path, w, h, 30.0);
      for (int k = 0; k < 3; ++k) wr.write(test::pattern_frame(0, w, h));
      wr.close();
    }
    VideoReader r(path);
    DecodedFrame f;
    int n = 0;
    while (r.next(f)) {
      const RgbFrame rgb = r.to_rgb(f, 0);
      ASSERT_EQ(rgb.width, w);
      ASSERT_EQ(rgb.height, h);
      ASSERT_EQ(rgb.pixels.size(), static_cast<size_t>(w) * h * 3);
      ++n;
    }
    EXPECT_EQ(n, 3) << path;
  }
}

}  // namespace
}  // namespace vg
