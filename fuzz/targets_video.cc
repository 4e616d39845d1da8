// Fuzz target of the video demuxer/decoder path (FFmpeg, when the build has it): open, read up to a few
// frames, convert them to small RGB pictures (what `vgsplat frames` does per sample).
#include "core/error.h"
#include "fuzz/targets.h"
#include "io/video.h"

#if VGSPLAT_HAS_VIDEO
extern "C" {
#include <libavutil/mem.h>
}
#endif

namespace vg::fuzz {

void video(std::string_view bytes) {
  if (!video_supported()) return;
#if VGSPLAT_HAS_VIDEO
  // FFmpeg's demuxers size some tables by the container's counts (mov: 800 MB from a 2 KB file) and fail cleanly
  // when av_malloc refuses: cap its single allocations so that third-party behaviour is not reported as ours.
  static const bool capped = (av_max_alloc(size_t{256} << 20), true);
  (void)capped;
#endif
  VideoReader r(scratch_file("clip.mp4", bytes));
  DecodedFrame f;
  RgbFrame rgb;
  for (int i = 0; i < 8 && r.next(f); ++i) r.to_rgb(f, 32, rgb);
}

}  // namespace vg::fuzz
