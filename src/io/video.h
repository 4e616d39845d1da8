// Video files through FFmpeg's libraries (libavformat demux, libavcodec decode/encode, libswscale
// colour conversion): a frame-by-frame reader that honours the rotation metadata (display matrix) and
// reports where a damaged file stopped decoding, and an H.264 MP4 writer (libx264, else any H.264
// encoder, else MPEG-4 part 2). FFmpeg is optional at build time (VGSPLAT_HAS_VIDEO); without it every
// entry point throws one line saying how to rebuild.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vg {

// True when vgsplat was built with FFmpeg.
bool video_supported();
// "vgsplat was built without FFmpeg: apt-get install ... and rebuild".
const char* video_unsupported_message();

// Interleaved 8-bit RGB, row-major.
struct RgbFrame {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // [height * width * 3]
};

struct VideoInfo {
  int width = 0, height = 0;    // displayed size (after rotation)
  int rotation = 0;             // clockwise degrees applied to the coded picture: 0, 90, 180 or 270
  double duration = 0;          // seconds (stream, else container); 0 when unknown
  double avg_fps = 0;           // 0 when unknown
  int64_t frame_count = 0;      // as the container states it; 0 when unknown
  std::string codec;
  bool chroma_420 = false;      // chroma at half resolution both ways (yuv420p and the like)
};

struct FrameData;  // a reference-counted decoded picture (video.cc)

struct DecodedFrame {
  int64_t index = -1;  // 0-based, in presentation (output) order
  double time = 0;     // seconds from the start of the stream (best-effort timestamp: VFR safe)
  std::shared_ptr<FrameData> data;
};

class VideoReader {
 public:
  // Throws vg::Error with one line for a missing/unreadable file, a file that is not a video, or no
  // video stream / no decoder.
  explicit VideoReader(const std::filesystem::path& path);
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const;
  // Decodes the next frame; false at the end. Packets that fail to decode are skipped (a warning each);
  // a read error ends the stream early and stopped_early() says where.
  bool next(DecodedFrame& f);
  // The frame as RGB, scaled (area filter) so that max(width, height) <= max_size (0: as is; never
  // enlarged), then rotated upright.
  RgbFrame to_rgb(const DecodedFrame& f, int max_size = 0) const;
  // The same into `out`, reusing its buffer (no fresh pages per frame).
  void to_rgb(const DecodedFrame& f, int max_size, RgbFrame& out) const;
  // Frames the caller will not look at may be skipped: before each packet is decoded, skip(time, duration)
  // (seconds) is asked, and when it says true a non-reference picture in it is not decoded (no output;
  // reference pictures are always decoded). Indices stay presentation ranks among all packets.
  // Only for streams whose packets all carry timestamps (else ignored).
  void set_skip(std::function<bool(double time, double duration)> skip);
  // Why and where decoding stopped before the stated end ("" when it ran to the end).
  const std::string& stopped_early() const;
  // One line per skipped corrupt packet, naming its position.
  const std::vector<std::string>& warnings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class VideoWriter {
 public:
  // An MP4 of frames of this size at `fps`. Odd sizes are padded by one pixel (yuv420p needs even
  // sizes). The file appears (atomically) at close().
  VideoWriter(const std::filesystem::path& path, int width, int height, double fps);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void write(const RgbFrame& f);  // f must be width x height
  void close();                   // flushes the encoder, writes the trailer, renames into place
  const std::string& encoder_name() const;  // "libx264", another H.264 encoder, or "mpeg4"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vg
