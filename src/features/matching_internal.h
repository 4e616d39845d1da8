// Internal interface of the brute-force matcher: per query descriptor, the best and second-best dot product
// over all train descriptors (uint8 values, exact in int and in float), as COLMAP's
// FindBestMatchesOneWayBruteForce scans them (first index wins ties; nothing below a dot of 0).
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace vg::match {

struct Best2 {
  std::vector<int32_t> idx;     // -1 when no dot product is > 0
  std::vector<int32_t> best, second;
};

// Merges the result of a later scan range (b) into an earlier one (a) as one sequential scan would.
void merge_best2(Best2& a, const Best2& b);

// COLMAP's descriptor distance of a dot product of two descriptors of norm 512: acos(dot / 512^2), clamped at 0.
// The selection's only floating-point step; the GPU selection looks it up in a table of these host values, so
// both select the same matches.
float dot_distance(int32_t dot);
constexpr int32_t kDotOne = 512 * 512;  // dot products from here on are at distance 0

// COLMAP's selection: distance <= max_distance, < max_ratio x the second's, mutual when cross_check; at most
// max_num_matches per pair, in query order.
struct SelectOptions {
  double max_distance = 0.7;
  float max_ratio = 0.8f;
  bool cross_check = true;
  int max_num_matches = 32768;
};

// CPU with AVX-512 VNNI (matching_vnni.cc): both directions in one pass; false when the CPU lacks it.
bool cpu_has_vnni();
bool best2_vnni(const uint8_t* q, int nq, const uint8_t* t, int nt, Best2* rows, Best2* cols);

// q: nq x 128 bytes, t: nt x 128 bytes, both row-major.
Best2 best2_cuda(const uint8_t* q, int nq, const uint8_t* t, int nt, int device);

// Every image's descriptors uploaded to the GPU once (one buffer), so that many pairs are scanned without a
// per-pair upload: each direction is one kernel and one download. CPU-only builds: construction fails.
class CudaDescriptorBank {
 public:
  // sets[i]: image i's descriptors (counts[i] x 128 bytes, row-major).
  CudaDescriptorBank(const std::vector<const uint8_t*>& sets, const std::vector<int>& counts, int device);
  ~CudaDescriptorBank();
  // a's descriptors over b's (first) and, when both, b's over a's (second).
  std::pair<Best2, Best2> best2_pair(int a, int b, bool both);
  // Many pairs in one launch and one download (best2_pair of each, in order).
  std::vector<std::pair<Best2, Best2>> best2_pairs(const std::vector<std::pair<int, int>>& pairs, bool both);
  // The selected matches of every pair (index in a, index in b), selected on the GPU: the scan of a over b, the
  // selection, then only the selected rows of b scanned back over a for the cross-check (a small share of the
  // full reverse scan), and only the matches downloaded. False from fused_selection() on GPUs without int8
  // tensor cores (sm_75), where best2_pairs and the CPU selection serve.
  bool fused_selection() const;
  std::vector<std::vector<std::pair<int, int>>> match_pairs(const std::vector<std::pair<int, int>>& pairs,
                                                            const SelectOptions& opt);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vg::match
