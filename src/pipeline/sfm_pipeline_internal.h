// Internals of the SfM stage shared by its source files (not a public API): per-image features,
// the worker pool, pair selection and matching.
#pragma once
#include "core/parallel.h"
#include <array>
#include <atomic>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "core/device.h"
#include "pipeline/sfm_pipeline.h"

namespace vg::sfm_detail {

struct ImageFeatures {
  std::string name;  // file name inside the images folder (the COLMAP image name)
  std::filesystem::path path;
  int width = 0, height = 0;
  FeatureSet features;
  std::vector<Eigen::Vector2d> points;         // keypoint pixels (COLMAP convention)
  std::vector<std::array<uint8_t, 3>> colors;  // RGB under each keypoint
};


// Regular, non-hidden files of `dir`, sorted by name. Throws when `dir` is not a folder.
std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& dir);

// Decodes and extracts SIFT from every file; files that cannot be decoded or give no feature are
// left out and reported in stats.skipped. Result in file order.
std::vector<ImageFeatures> extract_all_features(const std::vector<std::filesystem::path>& files, const SfmOptions& opt,
                                                const Device& device, int workers, SfmStats& stats);

// Image pairs (i < j) by the chosen matcher, over the usable images' names.
std::vector<std::pair<int, int>> choose_pairs(const SfmOptions& opt, const std::vector<std::string>& names);

// Descriptor matches of every pair (empty when a pair has too few).
std::vector<FeatureMatches> match_all_pairs(const std::vector<ImageFeatures>& images,
                                            const std::vector<std::pair<int, int>>& pairs, const SfmOptions& opt,
                                            const Device& device, int workers);

// Two-view geometry of every pair with enough matches; keeps the verified ones (>= min inliers).
// image_cameras[i]: the (guessed) camera of image i; a pair whose cameras both have a prior focal length
// (EXIF) is estimated calibrated first (essential matrix), as COLMAP's TwoViewGeometry::Estimate.
std::map<std::pair<int, int>, TwoViewGeometry> verify_all_pairs(const std::vector<ImageFeatures>& images,
                                                                const std::vector<ColmapCamera>& image_cameras,
                                                                const std::vector<char>& image_prior_focal,
                                                                const std::vector<std::pair<int, int>>& pairs,
                                                                const std::vector<FeatureMatches>& matches,
                                                                const SfmOptions& opt, int workers);

}  // namespace vg::sfm_detail
