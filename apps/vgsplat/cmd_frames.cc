// `vgsplat frames <video> --out DIR [--count 60] [--fps F] [--max-size PX]`: JPEG frames of a video.
#include <cstdio>
#include <memory>

#include "apps/vgsplat/commands.h"
#include "pipeline/frames.h"

namespace vg::app {

void register_frames(CLI::App& app) {
  auto* cmd = app.add_subcommand("frames", "Extract JPEG frames (frame_0001.jpg, ...) from a video, uniformly sampled");
  auto video = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto opt = std::make_shared<FramesOptions>();
  cmd->add_option("video", *video, "Video file (anything FFmpeg reads: MP4, MOV, MKV, ...)")->required();
  cmd->add_option("--out", *out, "Output folder")->required();
  auto* count = cmd->add_option("--count", opt->count, "Frames sampled uniformly over the whole duration")
                    ->capture_default_str();
  cmd->add_option("--fps", opt->fps, "Instead of --count: this many frames per second of video")->excludes(count);
  cmd->add_option("--max-size", opt->max_size, "Downscale so the longest side is at most PX pixels (0: keep)")
      ->capture_default_str();
  cmd->add_option("--quality", opt->quality, "JPEG quality (1-100)")->capture_default_str();
  cmd->callback([video, out, opt] {
    FramesOptions o = *opt;
    o.video = *video;
    o.out_dir = *out;
    const FramesResult r = extract_frames(o);
    std::printf("%zu frames (%dx%d) from %s (%.2f s, %s, %dx%d%s) -> %s\n", r.files.size(), r.width, r.height,
                video->c_str(), r.info.duration, r.info.codec.c_str(), r.info.width, r.info.height,
                r.info.rotation ? (", rotated " + std::to_string(r.info.rotation) + " deg").c_str() : "",
                out->c_str());
  });
}

}  // namespace vg::app
