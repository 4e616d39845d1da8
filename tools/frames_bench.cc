// frames_bench: the figure "60 frames from a 1080p 30 s video in <= 5 s" (vgsplat frames --count 60).
//   frames_bench [video] [--count N] [--max-size PX] [--repeat R]
// Without a video it first makes one (cached as $TMPDIR/vgsplat_bench_1080p30s.mp4): 1920x1080, 30 fps, 30 s,
// H.264 through io/video.h's writer, a textured scene panning under fresh per-frame sensor noise so the
// bit rate (printed) is in the range of a phone clip. Prints the wall time of each extraction and the median.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "io/video.h"
#include "pipeline/frames.h"

namespace {

// A smooth 2D texture (sum of a few sinusoids) sampled at (x + shift, y), plus noise of +-amp.
vg::RgbFrame bench_frame(int k, int W, int H, std::mt19937& rng) {
  vg::RgbFrame f;
  f.width = W;
  f.height = H;
  f.pixels.resize(static_cast<size_t>(W) * H * 3);
  std::uniform_int_distribution<int> noise(-6, 6);
  const double shift = 4.0 * k;  // panning 4 px per frame
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double u = (x + shift) / 37.0, v = y / 29.0;
      const double base = 128 + 50 * std::sin(u) * std::cos(v) + 30 * std::sin(0.31 * u + 0.17 * v * v);
      uint8_t* p = &f.pixels[(static_cast<size_t>(y) * W + x) * 3];
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<uint8_t>(std::clamp(base + 20 * c * std::sin(0.05 * (x + y + shift)) + noise(rng), 0.0, 255.0));
    }
  return f;
}

void make_video(const vg::fs::path& path) {
  std::printf("making %s (1920x1080, 30 fps, 30 s) ...\n", path.c_str());
  std::mt19937 rng(1);
  vg::VideoWriter w(path, 1920, 1080, 30.0);
  for (int k = 0; k < 900; ++k) w.write(bench_frame(k, 1920, 1080, rng));
  w.close();
  std::printf("encoder %s, %.1f MB (%.1f Mbit/s)\n", w.encoder_name().c_str(), vg::fs::file_size(path) / 1e6,
              vg::fs::file_size(path) * 8 / 30e6);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    vg::fs::path video;
    int count = 60, max_size = 0, repeat = 3;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--count" && i + 1 < argc) count = std::atoi(argv[++i]);
      else if (a == "--max-size" && i + 1 < argc) max_size = std::atoi(argv[++i]);
      else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
      else video = a;
    }
    if (video.empty()) {
      video = vg::fs::temp_directory_path() / "vgsplat_bench_1080p30s.mp4";
      if (!vg::fs::exists(video)) make_video(video);
    }
    std::vector<double> secs;
    for (int r = 0; r < repeat; ++r) {
      vg::FramesOptions o;
      o.video = video;
      o.out_dir = vg::fs::temp_directory_path() / "vgsplat_bench_frames";
      o.count = count;
      o.max_size = max_size;
      const auto t0 = std::chrono::steady_clock::now();
      const vg::FramesResult res = vg::extract_frames(o);
      secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      std::printf("run %d: %zu frames (%dx%d) of %s %dx%d %.1f s (%lld pictures decoded) in %.2f s\n", r + 1,
                  res.files.size(), res.width, res.height, res.info.codec.c_str(), res.info.width, res.info.height,
                  res.info.duration, static_cast<long long>(res.decoded), secs.back());
    }
    std::sort(secs.begin(), secs.end());
    std::printf("median %.2f s for %d frames\n", secs[secs.size() / 2], count);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "frames_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
