// `vgsplat frames`: a video to a folder of JPEG frames (frame_0001.jpg, ...), as the original pipeline's
// extract_frames.sh: `count` frames sampled uniformly over the whole duration (or `fps` frames per
// second), optionally downscaled, upright per the rotation metadata. Sample i of N targets the time
// i * duration / N (ffmpeg's fps=N/duration filter) and takes the decoded frame nearest to it by
// timestamp (variable frame rate safe; ties go to the earlier frame); a frame is written at most once.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/video.h"

namespace vg {

struct FramesOptions {
  std::filesystem::path video;
  std::filesystem::path out_dir;
  int count = 60;       // frames over the whole duration (used when fps == 0)
  double fps = 0;       // > 0: this many frames per second of video instead of `count`
  int max_size = 0;     // longest side in pixels (0: as decoded); never enlarges
  int quality = 95;     // JPEG quality (chroma subsampled as the video's: 4:2:0 for 4:2:0 sources)
};

struct FramesResult {
  VideoInfo info;
  std::vector<int64_t> indices;             // decoded frame index (presentation order) of each file
  std::vector<double> times;                // its timestamp (s)
  std::vector<std::filesystem::path> files; // out_dir/frame_0001.jpg, ...
  std::vector<std::string> warnings;        // damaged packets, early end, fewer distinct frames than asked
  int width = 0, height = 0;                // of the written frames
  int64_t decoded = 0;                      // frames decoded (non-reference ones far from every sample are skipped)
};

// The sample times: i * duration / count for i < count, or k / fps while < duration.
std::vector<double> frame_sample_times(double duration, int count, double fps);

// Decodes the video once and writes the chosen frames (atomically); frame_*.jpg files of an earlier run
// beyond the new ones are removed. A damaged video gives the frames that decoded, with warnings naming
// the position; throws vg::Error (one line) when the file cannot be opened or no frame decoded.
FramesResult extract_frames(const FramesOptions& opt);

}  // namespace vg
