// Brute-force descriptor matching with COLMAP's semantics (ratio and max-distance tests on the angular
// distance acos(dot / 512^2), mutual consistency) and the image-pair lists. The CPU path computes the dot
// products as float GEMMs of uint8-valued matrices (exact: every partial sum is an integer < 2^24).
#include "features/matching.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/parallel.h"
#include "features/matching_internal.h"

namespace vg {
namespace {

using match::Best2;
using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Best / second-best over the train rows for every query row, in blocks of 256 queries (threads over blocks).
Best2 best2_cpu(const SiftDescriptors& q, const SiftDescriptors& t) {
  const int nq = static_cast<int>(q.rows()), nt = static_cast<int>(t.rows());
  Best2 r{std::vector<int32_t>(nq, -1), std::vector<int32_t>(nq, 0), std::vector<int32_t>(nq, 0)};
  const MatF tf = t.cast<float>();
  constexpr int kBlock = 256;
  const int nblocks = (nq + kBlock - 1) / kBlock;
  parallel_for(nblocks, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) {
      const int r0 = static_cast<int>(blk) * kBlock, rn = std::min(kBlock, nq - r0);
      const MatF dots = q.middleRows(r0, rn).cast<float>() * tf.transpose();
      for (int i = 0; i < rn; ++i) {
        float best = 0, second = 0;
        int idx = -1;
        for (int j = 0; j < nt; ++j) {
          const float d = dots(i, j);
          if (d > best) {
            idx = j, second = best, best = d;
          } else if (d > second) {
            second = d;
          }
        }
        r.idx[r0 + i] = idx;
        r.best[r0 + i] = static_cast<int32_t>(best);
        r.second[r0 + i] = static_cast<int32_t>(second);
      }
    }
  }, 1);
  return r;
}

Best2 best2(const SiftDescriptors& q, const SiftDescriptors& t, const Device& device) {
  if (device.is_cuda())
    return match::best2_cuda(q.data(), static_cast<int>(q.rows()), t.data(), static_cast<int>(t.rows()), device.index);
  return best2_cpu(q, t);
}

// COLMAP's one-way selection: distance acos(dot/512^2) <= max_distance and < max_ratio * second distance.
std::vector<int> select_matches(const Best2& b, const MatchOptions& opt) {
  constexpr float kInvSqNorm = 1.0f / (512.0f * 512.0f);
  std::vector<int> m(b.idx.size(), -1);
  for (size_t i = 0; i < b.idx.size(); ++i) {
    if (b.idx[i] < 0) continue;
    const float d1 = std::acos(std::min(kInvSqNorm * b.best[i], 1.0f));
    if (d1 > opt.max_distance) continue;
    const float d2 = std::acos(std::min(kInvSqNorm * b.second[i], 1.0f));
    if (d1 >= static_cast<float>(opt.max_ratio) * d2) continue;
    m[i] = b.idx[i];
  }
  return m;
}

}  // namespace

FeatureMatches match_descriptors(const SiftDescriptors& d1, const SiftDescriptors& d2, const MatchOptions& opt,
                                 const Device& device) {
  VG_CHECK(opt.max_ratio > 0 && opt.max_distance > 0, "matching: max_ratio and max_distance must be > 0");
  VG_CHECK(opt.max_num_matches > 0, "matching: max_num_matches must be > 0");
  FeatureMatches out;
  if (d1.rows() == 0 || d2.rows() == 0) return out;
  const std::vector<int> m12 = select_matches(best2(d1, d2, device), opt);
  std::vector<int> m21;
  if (opt.cross_check) m21 = select_matches(best2(d2, d1, device), opt);
  for (size_t i = 0; i < m12.size(); ++i) {
    const int j = m12[i];
    if (j < 0 || (opt.cross_check && m21[j] != static_cast<int>(i))) continue;
    out.emplace_back(static_cast<int>(i), j);
    if (static_cast<int>(out.size()) >= opt.max_num_matches) break;
  }
  return out;
}

std::vector<std::pair<int, int>> exhaustive_pairs(int num_images) {
  std::vector<std::pair<int, int>> p;
  for (int i = 0; i < num_images; ++i)
    for (int j = i + 1; j < num_images; ++j) p.emplace_back(i, j);
  return p;
}

std::vector<std::pair<int, int>> sequential_pairs(int num_images, int overlap) {
  VG_CHECK(overlap >= 1, "sequential matching: overlap must be >= 1, got ", overlap);
  std::vector<std::pair<int, int>> p;
  for (int i = 0; i < num_images; ++i)
    for (int j = i + 1; j <= std::min(num_images - 1, i + overlap); ++j) p.emplace_back(i, j);
  return p;
}

std::vector<std::pair<int, int>> read_pairs_file(const std::filesystem::path& path,
                                                 const std::vector<std::string>& names) {
  std::ifstream in(path);
  VG_CHECK(in, "cannot read pairs file ", path.string());
  std::unordered_map<std::string, int> index;
  for (size_t i = 0; i < names.size(); ++i) index.emplace(names[i], static_cast<int>(i));
  std::vector<std::pair<int, int>> pairs;
  std::set<std::pair<int, int>> seen;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    std::istringstream ls(line);
    std::string a, b, extra;
    if (!(ls >> a) || a[0] == '#') continue;
    VG_CHECK(static_cast<bool>(ls >> b) && !(ls >> extra), path.string(), ":", line_no,
             ": expected two image names, got '", line, "'");
    auto ia = index.find(a), ib = index.find(b);
    VG_CHECK(ia != index.end(), path.string(), ":", line_no, ": unknown image '", a, "'");
    VG_CHECK(ib != index.end(), path.string(), ":", line_no, ": unknown image '", b, "'");
    VG_CHECK(ia->second != ib->second, path.string(), ":", line_no, ": image paired with itself: '", a, "'");
    auto key = std::minmax(ia->second, ib->second);
    if (seen.insert(key).second) pairs.emplace_back(ia->second, ib->second);
  }
  return pairs;
}

}  // namespace vg
