#include "pipeline/frames.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "core/progress.h"
#include "io/jpeg_write.h"

namespace vg {

namespace {

// Target time of sample j, or nothing past the last one (fps mode with an unknown duration never ends).
struct Targets {
  double duration = 0;
  int count = 0;
  double fps = 0;
  std::optional<double> at(int64_t j) const {
    if (fps > 0) {
      const double t = static_cast<double>(j) / fps;
      if (duration > 0 && t >= duration) return std::nullopt;
      return t;
    }
    if (j >= count) return std::nullopt;
    return static_cast<double>(j) * duration / count;
  }
  // Distance from t to the nearest target.
  double distance(double t) const {
    if (fps > 0) {
      const double k = std::max(0.0, std::round(t * fps));
      double d = std::abs(t - k / fps);
      if (duration > 0 && k / fps >= duration) d = std::abs(t - (std::ceil(duration * fps) - 1) / fps);
      return d;
    }
    const double k = std::clamp(std::round(t * count / duration), 0.0, static_cast<double>(count - 1));
    return std::abs(t - k * duration / count);
  }
};

std::string frame_name(size_t k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "frame_%04zu.jpg", k);
  return buf;
}

// Picks, for each target, the decoded frame nearest in time, and writes each picked frame once.
class FramePicker {
 public:
  FramePicker(const FramesOptions& o, VideoReader& r, FramesResult& res, const Targets& t)
      : opt_(o), reader_(r), res_(res), targets_(t) {}

  void add(const DecodedFrame& f) {
    for (auto t = targets_.at(j_); t && f.time >= *t; t = targets_.at(++j_))
      emit(prev_.data && (*t - prev_.time) <= (f.time - *t) ? prev_ : f);
    prev_ = f;
  }

  // After the last frame: targets up to about one frame past it take it; later ones (a truncated
  // video) are dropped.
  void finish(double frame_step) {
    if (!prev_.data) return;
    for (auto t = targets_.at(j_); t && *t <= prev_.time + 1.5 * frame_step; t = targets_.at(++j_)) emit(prev_);
  }

  int64_t targets_seen() const { return j_; }
  int64_t duplicates() const { return duplicates_; }

 private:
  void emit(const DecodedFrame& f) {
    if (!res_.indices.empty() && res_.indices.back() == f.index) {
      ++duplicates_;
      return;
    }
    reader_.to_rgb(f, opt_.max_size, rgb_);
    const fs::path path = opt_.out_dir / frame_name(res_.files.size() + 1);
    write_jpeg(path, rgb_.pixels.data(), rgb_.width, rgb_.height, opt_.quality, reader_.info().chroma_420);
    res_.indices.push_back(f.index);
    res_.times.push_back(f.time);
    res_.files.push_back(path);
    res_.width = rgb_.width;
    res_.height = rgb_.height;
  }

  const FramesOptions& opt_;
  VideoReader& reader_;
  FramesResult& res_;
  Targets targets_;
  int64_t j_ = 0, duplicates_ = 0;
  DecodedFrame prev_;
  RgbFrame rgb_;  // reused: one 1080p frame is 6 MB of fresh pages otherwise
};

// frame_NNNN.jpg files in `dir` that this run did not write (left from a longer earlier run).
void remove_stale_frames(const fs::path& dir, const std::vector<fs::path>& written) {
  std::set<std::string> keep;
  for (const fs::path& p : written) keep.insert(p.filename().string());
  const std::regex pattern("frame_[0-9]+\\.jpg");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, pattern) && !keep.count(name)) fs::remove(e.path(), ec);
  }
}

}  // namespace

std::vector<double> frame_sample_times(double duration, int count, double fps) {
  VG_CHECK(duration > 0, "frame sampling needs a positive duration");
  const Targets t{duration, count, fps};
  std::vector<double> out;
  for (int64_t j = 0; auto x = t.at(j); ++j) out.push_back(*x);
  return out;
}

FramesResult extract_frames(const FramesOptions& opt) {
  VG_CHECK(opt.fps > 0 || opt.count > 0, "frames: --count must be positive (or give --fps)");
  VG_CHECK(opt.fps >= 0 && std::isfinite(opt.fps), "frames: --fps must be positive");
  VG_CHECK(opt.max_size >= 0, "frames: --max-size must be >= 0");
  VideoReader reader(opt.video);
  FramesResult res;
  res.info = reader.info();
  const VideoInfo& info = res.info;
  VG_CHECK(opt.fps > 0 || info.duration > 0, "cannot sample ", opt.video.string(),
           " uniformly: its duration is unknown (use --fps F)");
  fs::create_directories(opt.out_dir);

  const Targets targets{info.duration, opt.count, opt.fps};
  const double step = info.avg_fps > 0 ? 1.0 / info.avg_fps : 1.0 / 30;
  const long long expected = info.frame_count > 0 ? info.frame_count
                                                  : std::max<long long>(1, std::llround(info.duration / step));
  // Non-reference pictures more than 4 frames from every target cannot be the nearest to one: not decoded
  // (a fifth of the pictures of the benchmark clip). Reference pictures always are, so the rest decode right.
  reader.set_skip([&targets, step](double t, double duration) {
    return targets.distance(t) > 4.0 * std::max(duration, step);
  });
  FramePicker picker(opt, reader, res, targets);
  ProgressBar bar("frames", expected);
  DecodedFrame f;
  int64_t decoded = 0;
  while (reader.next(f)) {
    picker.add(f);
    ++decoded;
    bar.update(std::min<long long>(f.index + 1, expected));
  }
  picker.finish(step);
  res.decoded = decoded;
  bar.finish();

  const std::string name = opt.video.string();
  for (const std::string& w : reader.warnings()) res.warnings.push_back(name + ": " + w);
  VG_CHECK(decoded > 0, "cannot extract frames from ", name, ": no frame could be decoded",
           reader.stopped_early().empty() ? "" : " (" + reader.stopped_early() + ")");
  if (!reader.stopped_early().empty())
    res.warnings.push_back(name + ": " + reader.stopped_early() + "; kept the " + std::to_string(res.files.size()) +
                           " frames sampled before that");
  if (picker.duplicates() > 0)
    res.warnings.push_back(name + ": only " + std::to_string(res.files.size()) + " distinct frames for " +
                           std::to_string(picker.targets_seen()) + " samples (the video has too few frames)");
  for (const std::string& w : res.warnings) log_warn(w);
  remove_stale_frames(opt.out_dir, res.files);
  return res;
}

}  // namespace vg
