// SfM stage, step 1: the image list and SIFT features (COLMAP feature_extractor).
#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "io/image.h"
#include "pipeline/sfm_pipeline_internal.h"

namespace vg::sfm_detail {

namespace fs = std::filesystem;

std::vector<fs::path> list_image_files(const fs::path& dir) {
  VG_CHECK(fs::is_directory(dir), "images folder ", dir.string(), " does not exist or is not a folder");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (e.is_regular_file()) files.push_back(e.path());  // follows symlinks
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  return files;
}

namespace {

// RGB of the pixel holding each keypoint (COLMAP: pixel centres at +0.5, so floor(x) is the column).
std::vector<std::array<uint8_t, 3>> keypoint_colors(const Image& rgb, const std::vector<Keypoint>& kps) {
  std::vector<std::array<uint8_t, 3>> colors(kps.size());
  for (size_t k = 0; k < kps.size(); ++k) {
    int x = std::clamp(static_cast<int>(std::floor(kps[k].x)), 0, rgb.width - 1);
    int y = std::clamp(static_cast<int>(std::floor(kps[k].y)), 0, rgb.height - 1);
    for (int c = 0; c < 3; ++c)
      colors[k][c] = static_cast<uint8_t>(std::lround(std::clamp(rgb.at(y, x, c), 0.0f, 1.0f) * 255.0f));
  }
  return colors;
}

}  // namespace

std::vector<ImageFeatures> extract_all_features(const std::vector<fs::path>& files, const SfmOptions& opt,
                                                const Device& device, int workers, SfmStats& stats) {
  const int n = static_cast<int>(files.size());
  // On the GPU a worker's own share is decoding and post-processing on the CPU: one worker per core, at most 8
  // (each holds a decoded float image: ~290 MB for a 24 MP photo).
  if (device.is_cuda() && opt.num_threads <= 0) workers = std::max(workers, std::min(num_threads(), 8));
  std::vector<ImageFeatures> all(n);
  std::vector<std::string> failure(n);
  std::mutex progress_mutex;
  std::unique_ptr<ProgressBar> bar;
  if (opt.progress) bar = std::make_unique<ProgressBar>("features", n);
  int done = 0;
  int64_t total = 0;
  parallel_dynamic(n, workers, [&](int i) {
    ImageFeatures& f = all[i];
    f.path = files[i];
    f.name = files[i].filename().string();
    try {
      Image img = read_image(files[i], opt.jpeg_decode);
      f.width = img.width, f.height = img.height;
      f.features = extract_sift(img, opt.sift, device);  // the CUDA backend takes the GPU one image at a time
      f.colors = keypoint_colors(to_rgb(img), f.features.keypoints);
    } catch (const Error& e) {
      failure[i] = e.what();
    }
    f.points.reserve(f.features.keypoints.size());
    for (const Keypoint& k : f.features.keypoints) f.points.emplace_back(k.x, k.y);
    if (failure[i].empty() && f.points.empty()) failure[i] = "no SIFT features (blank or featureless image)";
    std::lock_guard<std::mutex> lock(progress_mutex);
    total += static_cast<int64_t>(f.points.size());
    if (bar) bar->update(++done, "features=" + std::to_string(total));
  });
  if (bar) bar->finish("features=" + std::to_string(total));
  std::vector<ImageFeatures> usable;
  for (int i = 0; i < n; ++i) {
    if (!failure[i].empty()) {
      stats.skipped.push_back(all[i].name + ": " + failure[i]);
      continue;
    }
    stats.num_features += static_cast<int64_t>(all[i].points.size());
    usable.push_back(std::move(all[i]));
  }
  return usable;
}

}  // namespace vg::sfm_detail
