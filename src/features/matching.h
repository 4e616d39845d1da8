// Descriptor matching (COLMAP SiftMatchingOptions semantics): nearest neighbour by descriptor dot product,
// Lowe's ratio test (0.8), max distance (0.7, on normalised descriptors: distance = acos(dot)), mutual
// (cross-check) consistency. Brute force on CPU (threads) and GPU. Pair lists: exhaustive, sequential, file.
#pragma once
#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/device.h"
#include "features/sift.h"
#include "geometry/two_view.h"

namespace vg {

struct MatchOptions {
  double max_ratio = 0.8;
  double max_distance = 0.7;
  bool cross_check = true;
  int max_num_matches = 32768;
  bool allow_simd = true;  // CPU: the AVX-512 VNNI kernel when the CPU has it (same result as the GEMM path)
};

FeatureMatches match_descriptors(const SiftDescriptors& d1, const SiftDescriptors& d2, const MatchOptions& opt,
                                 const Device& device = Device::cpu());

namespace match {
class CudaDescriptorBank;
}
// Many pairs of one image set on a GPU: every image's descriptors are uploaded once (match_descriptors uploads
// both sets per pair); match_many scans a batch of pairs in one launch and selects the matches on the GPU
// (tensor-core GPUs: only the matches are downloaded, the cross-check scans back only the selected rows) or on
// CPU threads (sm_75). Same result as match_descriptors.
class GpuPairMatcher {
 public:
  GpuPairMatcher(const std::vector<const SiftDescriptors*>& sets, const Device& device);  // sets outlive it
  ~GpuPairMatcher();
  FeatureMatches match(int a, int b, const MatchOptions& opt);
  // match(a, b) of every pair; progress(done) after each batch.
  std::vector<FeatureMatches> match_many(const std::vector<std::pair<int, int>>& pairs, const MatchOptions& opt,
                                         const std::function<void(int)>& progress = {});
  // The same into out (pairs.size() entries): after progress(done), out[0, done) are final, so another thread
  // may consume them while later batches run.
  void match_many(const std::vector<std::pair<int, int>>& pairs, const MatchOptions& opt,
                  std::vector<FeatureMatches>& out, const std::function<void(int)>& progress);
  // Where the last match_many's time went: batches, seconds waiting for the GPU scans (with their downloads)
  // and seconds selecting matches on the CPU or, when the GPU selects, storing them (the next batch scans
  // meanwhile).
  struct Stats {
    int batches = 0;
    double scan_wait_seconds = 0, select_seconds = 0;
  };
  const Stats& stats() const { return stats_; }
  // Query descriptors per batch (default about 4M: 48 MB of results on the device and the host).
  void set_batch_queries(int64_t n) { batch_queries_ = std::max<int64_t>(1, n); }

 private:
  Stats stats_;
  int64_t batch_queries_ = int64_t{1} << 22;
  std::vector<int> counts_;
  std::unique_ptr<match::CudaDescriptorBank> bank_;
};

std::vector<std::pair<int, int>> exhaustive_pairs(int num_images);
// Each image with the next `overlap` images (video / angle-ordered sets).
std::vector<std::pair<int, int>> sequential_pairs(int num_images, int overlap);
// A text file of "name1 name2" lines; names resolved against `names`. Unknown names -> vg::Error with the line.
std::vector<std::pair<int, int>> read_pairs_file(const std::filesystem::path& path,
                                                 const std::vector<std::string>& names);

}  // namespace vg
