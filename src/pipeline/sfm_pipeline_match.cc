// SfM stage, steps 2-3: pair selection, descriptor matching and two-view verification
// (COLMAP exhaustive_matcher / sequential_matcher / matches_importer with geometric verification).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>

#include "core/error.h"
#include "core/progress.h"
#include "geometry/camera_models.h"
#include "pipeline/sfm_pipeline_internal.h"

namespace vg::sfm_detail {

std::vector<std::pair<int, int>> choose_pairs(const SfmOptions& opt, const std::vector<std::string>& names) {
  const int n = static_cast<int>(names.size());
  std::vector<std::pair<int, int>> pairs;
  switch (opt.matcher) {
    case SfmOptions::Matcher::Exhaustive:
      pairs = exhaustive_pairs(n);
      break;
    case SfmOptions::Matcher::Sequential:
      VG_CHECK(opt.overlap >= 1, "--overlap must be >= 1, got ", opt.overlap);
      pairs = sequential_pairs(n, opt.overlap);
      break;
    case SfmOptions::Matcher::PairsFile:
      VG_CHECK(!opt.pairs_file.empty(), "the pairs matcher needs a pairs file (--pairs FILE)");
      pairs = read_pairs_file(opt.pairs_file, names);
      break;
  }
  // Canonical (i < j), no self pairs, no duplicates: a pairs file may list "b a" and "a b".
  std::set<std::pair<int, int>> unique;
  for (auto [i, j] : pairs) {
    if (i == j) continue;
    unique.emplace(std::min(i, j), std::max(i, j));
  }
  return {unique.begin(), unique.end()};
}

std::vector<FeatureMatches> match_all_pairs(const std::vector<ImageFeatures>& images,
                                            const std::vector<std::pair<int, int>>& pairs, const SfmOptions& opt,
                                            const Device& device, int workers) {
  const int n = static_cast<int>(pairs.size());
  std::vector<FeatureMatches> matches(n);
  std::unique_ptr<ProgressBar> bar;
  if (opt.progress) bar = std::make_unique<ProgressBar>("matching", n);
  std::mutex progress_mutex;
  int done = 0;
  int64_t total = 0;
  // On a GPU every image's descriptors are uploaded once and pairs run in batches; CPU pairs side by side.
  if (device.is_cuda() && n > 0) {
    std::vector<const SiftDescriptors*> sets;
    for (const ImageFeatures& im : images) sets.push_back(&im.features.descriptors);
    GpuPairMatcher gpu(sets, device);
    matches = gpu.match_many(pairs, opt.match, [&](int upto) {
      if (bar) bar->update(upto);
    });
    for (const FeatureMatches& m : matches) total += static_cast<int64_t>(m.size());
    if (bar) bar->finish("matches=" + std::to_string(total));
    return matches;
  }
  parallel_dynamic(n, workers, [&](int p) {
    const auto [i, j] = pairs[p];
    matches[p] = match_descriptors(images[i].features.descriptors, images[j].features.descriptors, opt.match, device);
    std::lock_guard<std::mutex> lock(progress_mutex);
    total += static_cast<int64_t>(matches[p].size());
    if (bar) bar->update(++done, "matches=" + std::to_string(total));
  });
  if (bar) bar->finish("matches=" + std::to_string(total));
  return matches;
}

std::map<std::pair<int, int>, TwoViewGeometry> verify_all_pairs(const std::vector<ImageFeatures>& images,
                                                                const std::vector<ColmapCamera>& image_cameras,
                                                                const std::vector<char>& image_prior_focal,
                                                                const std::vector<std::pair<int, int>>& pairs,
                                                                const std::vector<FeatureMatches>& matches,
                                                                const SfmOptions& opt, int workers) {
  const int n = static_cast<int>(pairs.size());
  const size_t min_inliers = static_cast<size_t>(std::max(1, opt.two_view.min_num_inliers));
  std::vector<TwoViewGeometry> geoms(n);
  std::unique_ptr<ProgressBar> bar;
  if (opt.progress) bar = std::make_unique<ProgressBar>("geometry", n);
  std::mutex progress_mutex;
  int done = 0, verified = 0;
  // Every keypoint undistorted once, not once per pair it is matched in.
  std::vector<std::vector<Eigen::Vector2d>> normalized(images.size());
  parallel_dynamic(static_cast<int>(images.size()), workers, [&](int i) {
    normalized[i].reserve(images[i].points.size());
    for (const Eigen::Vector2d& x : images[i].points) normalized[i].push_back(camera_unproject(image_cameras[i], x));
  });
  parallel_dynamic(n, workers, [&](int p) {
    const auto [i, j] = pairs[p];
    bool ok = false;
    if (matches[p].size() >= min_inliers) {
      TwoViewOptions tv = opt.two_view;
      tv.ransac.seed = opt.seed * 1000003ULL + static_cast<uint64_t>(p) + 1;  // deterministic per pair
      geoms[p] = estimate_two_view_geometry(image_cameras[i], images[i].points, normalized[i], image_cameras[j],
                                            images[j].points, normalized[j], matches[p],
                                            image_prior_focal[i] && image_prior_focal[j], tv);
      ok = geoms[p].config != TwoViewGeometry::UNDEFINED && geoms[p].config != TwoViewGeometry::DEGENERATE &&
           geoms[p].inlier_matches.size() >= min_inliers;
    }
    if (!ok) geoms[p] = TwoViewGeometry{};
    std::lock_guard<std::mutex> lock(progress_mutex);
    verified += ok;
    if (bar) bar->update(++done, "verified=" + std::to_string(verified));
  });
  if (bar) bar->finish("verified=" + std::to_string(verified));
  if (const char* dbg = std::getenv("VGSPLAT_MAPPER_DEBUG"); dbg && *dbg && *dbg != '0')
    for (int p = 0; p < n; ++p)
      std::fprintf(stderr, "pair %d %d matches %zu inliers %zu config %d\n", pairs[p].first, pairs[p].second,
                   matches[p].size(), geoms[p].inlier_matches.size(), static_cast<int>(geoms[p].config));
  std::map<std::pair<int, int>, TwoViewGeometry> out;
  for (int p = 0; p < n; ++p)
    if (!geoms[p].inlier_matches.empty()) out.emplace(pairs[p], std::move(geoms[p]));
  return out;
}

}  // namespace vg::sfm_detail
