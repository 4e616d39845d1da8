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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vg::match
