// Brute-force descriptor matching with COLMAP's semantics (ratio and max-distance tests on the angular
// distance acos(dot / 512^2), mutual consistency) and the image-pair lists. The CPU path computes the dot
// products as float GEMMs of uint8-valued matrices (exact: every partial sum is an integer < 2^24).
#include "features/matching.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/parallel.h"
#include "features/matching_internal.h"
#if VGSPLAT_HAS_BLAS
#include <cblas.h>
// OpenBLAS's own thread count (not CBLAS): the matcher threads over blocks itself. Weak: other BLASes lack it.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace vg {
namespace {

using match::Best2;
using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Folds dot product d of index j into a running best / second best (first index wins ties, as COLMAP's scan).
inline void update(int32_t d, int j, int32_t& best, int32_t& second, int32_t& idx) {
  if (d > best) {
    idx = j, second = best, best = d;
  } else if (d > second) {
    second = d;
  }
}

}  // namespace

float match::dot_distance(int32_t dot) {
  constexpr float kInvSqNorm = 1.0f / (512.0f * 512.0f);
  return std::acos(std::min(kInvSqNorm * static_cast<float>(dot), 1.0f));
}

void match::merge_best2(Best2& a, const Best2& b) {
  for (size_t i = 0; i < a.idx.size(); ++i) {
    if (b.idx[i] < 0) continue;
    if (b.best[i] > a.best[i]) {
      a.second[i] = std::max(a.best[i], b.second[i]);
      a.best[i] = b.best[i], a.idx[i] = b.idx[i];
    } else {
      a.second[i] = std::max(a.second[i], b.best[i]);
    }
  }
}

namespace {

// dots [rn, nt] = q_rows [rn, 128] * t^T (float GEMM; OpenBLAS when built with it, single-threaded per call).
void block_dots(const MatF& qf, const MatF& tf, MatF& dots) {
  dots.resize(qf.rows(), tf.rows());
#if VGSPLAT_HAS_BLAS
  static const bool once = [] {
    if (openblas_set_num_threads) openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(qf.rows()), static_cast<int>(tf.rows()),
              static_cast<int>(qf.cols()), 1.0f, qf.data(), static_cast<int>(qf.cols()), tf.data(),
              static_cast<int>(tf.cols()), 0.0f, dots.data(), static_cast<int>(tf.rows()));
#else
  dots.noalias() = qf * tf.transpose();
#endif
}

Best2 empty_best2(int n) { return {std::vector<int32_t>(n, -1), std::vector<int32_t>(n, 0), std::vector<int32_t>(n, 0)}; }

// One pass of float GEMMs over blocks of 256 query rows (threads over blocks) gives both directions:
// per row of q its best over t, and per row of t its best over q (merged over the threads' row ranges).
std::pair<Best2, Best2> best2_cpu(const SiftDescriptors& q, const SiftDescriptors& t) {
  const int nq = static_cast<int>(q.rows()), nt = static_cast<int>(t.rows());
  Best2 rows = empty_best2(nq);
  const MatF tf = t.cast<float>();
  constexpr int kBlock = 256;
  const int nblocks = (nq + kBlock - 1) / kBlock;
  std::mutex mutex;
  std::vector<std::pair<int64_t, Best2>> col_parts;
  parallel_for(nblocks, [&](int64_t b, int64_t e) {
    Best2 cols = empty_best2(nt);
    MatF qf, dots;
    for (int64_t blk = b; blk < e; ++blk) {
      const int r0 = static_cast<int>(blk) * kBlock, rn = std::min(kBlock, nq - r0);
      qf = q.middleRows(r0, rn).cast<float>();
      block_dots(qf, tf, dots);
      for (int i = 0; i < rn; ++i) {
        int32_t best = 0, second = 0, idx = -1;
        const float* row = dots.data() + static_cast<size_t>(i) * nt;
        for (int j = 0; j < nt; ++j) {
          const int32_t d = static_cast<int32_t>(row[j]);
          update(d, j, best, second, idx);
          update(d, r0 + i, cols.best[j], cols.second[j], cols.idx[j]);
        }
        rows.idx[r0 + i] = idx, rows.best[r0 + i] = best, rows.second[r0 + i] = second;
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    col_parts.emplace_back(b, std::move(cols));
  }, 1);
  std::sort(col_parts.begin(), col_parts.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  Best2 cols = empty_best2(nt);
  for (const auto& part : col_parts) match::merge_best2(cols, part.second);
  return {std::move(rows), std::move(cols)};
}

// COLMAP's one-way selection: distance acos(dot/512^2) <= max_distance and < max_ratio * second distance.
std::vector<int> select_matches(const Best2& b, const MatchOptions& opt) {
  std::vector<int> m(b.idx.size(), -1);
  for (size_t i = 0; i < b.idx.size(); ++i) {
    if (b.idx[i] < 0) continue;
    const float d1 = match::dot_distance(b.best[i]);
    if (d1 > opt.max_distance) continue;
    const float d2 = match::dot_distance(b.second[i]);
    if (d1 >= static_cast<float>(opt.max_ratio) * d2) continue;
    m[i] = b.idx[i];
  }
  return m;
}

}  // namespace

namespace {

// Mutual (cross-checked) selections of both directions as pairs (index in 1, index in 2).
FeatureMatches combine(const std::pair<Best2, Best2>& b, const MatchOptions& opt) {
  FeatureMatches out;
  const std::vector<int> m12 = select_matches(b.first, opt);
  std::vector<int> m21;
  if (opt.cross_check) m21 = select_matches(b.second, opt);
  for (size_t i = 0; i < m12.size(); ++i) {
    const int j = m12[i];
    if (j < 0 || (opt.cross_check && m21[j] != static_cast<int>(i))) continue;
    out.emplace_back(static_cast<int>(i), j);
    if (static_cast<int>(out.size()) >= opt.max_num_matches) break;
  }
  return out;
}

void check_options(const MatchOptions& opt) {
  VG_CHECK(opt.max_ratio > 0 && opt.max_distance > 0, "matching: max_ratio and max_distance must be > 0");
  VG_CHECK(opt.max_num_matches > 0, "matching: max_num_matches must be > 0");
}

}  // namespace

FeatureMatches match_descriptors(const SiftDescriptors& d1, const SiftDescriptors& d2, const MatchOptions& opt,
                                 const Device& device) {
  check_options(opt);
  if (d1.rows() == 0 || d2.rows() == 0) return {};
  std::pair<Best2, Best2> b;
  if (device.is_cuda()) {
    const int n1 = static_cast<int>(d1.rows()), n2 = static_cast<int>(d2.rows());
    b.first = match::best2_cuda(d1.data(), n1, d2.data(), n2, device.index);
    if (opt.cross_check) b.second = match::best2_cuda(d2.data(), n2, d1.data(), n1, device.index);
  } else if (!(opt.allow_simd && match::best2_vnni(d1.data(), static_cast<int>(d1.rows()), d2.data(),
                                                  static_cast<int>(d2.rows()), &b.first, &b.second))) {
    b = best2_cpu(d1, d2);
  }
  return combine(b, opt);
}

GpuPairMatcher::GpuPairMatcher(const std::vector<const SiftDescriptors*>& sets, const Device& device) {
  VG_CHECK(device.is_cuda(), "GpuPairMatcher needs a CUDA device, got ", device.str());
  std::vector<const uint8_t*> data;
  std::vector<int> counts;
  for (const SiftDescriptors* d : sets) data.push_back(d->data()), counts.push_back(static_cast<int>(d->rows()));
  counts_ = counts;
  bank_ = std::make_unique<match::CudaDescriptorBank>(data, counts, device.index);
}

GpuPairMatcher::~GpuPairMatcher() = default;

FeatureMatches GpuPairMatcher::match(int a, int b, const MatchOptions& opt) {
  check_options(opt);
  if (counts_.at(a) == 0 || counts_.at(b) == 0) return {};
  return combine(bank_->best2_pair(a, b, opt.cross_check), opt);
}

std::vector<FeatureMatches> GpuPairMatcher::match_many(const std::vector<std::pair<int, int>>& pairs,
                                                       const MatchOptions& opt, const std::function<void(int)>& progress) {
  std::vector<FeatureMatches> out(pairs.size());
  match_many(pairs, opt, out, progress);
  return out;
}

void GpuPairMatcher::match_many(const std::vector<std::pair<int, int>>& pairs, const MatchOptions& opt,
                                std::vector<FeatureMatches>& out, const std::function<void(int)>& progress) {
  check_options(opt);
  VG_CHECK(out.size() == pairs.size(), "match_many: ", pairs.size(), " pairs but ", out.size(), " outputs");
  stats_ = {};
  if (pairs.empty()) return;
  // Batches of batch_queries_ query descriptors; batch k + 1 scans on the GPU while the CPU threads select
  // batch k's matches.
  struct Batch {
    std::vector<std::pair<int, int>> pairs;
    std::vector<size_t> where;
    size_t end = 0;
  };
  size_t begin = 0;
  auto next_batch = [&] {
    auto b = std::make_shared<Batch>();  // shared with its scan, which may outlive this iteration's names
    int64_t queries = 0;
    size_t end = begin;
    for (; end < pairs.size() && (b->pairs.empty() || queries < batch_queries_); ++end) {
      const auto [x, y] = pairs[end];
      if (counts_.at(x) == 0 || counts_.at(y) == 0) continue;
      b->pairs.push_back(pairs[end]), b->where.push_back(end);
      queries += counts_[x] + (opt.cross_check ? counts_[y] : 0);
    }
    b->end = begin = end;
    return b;
  };
  // Tensor-core GPUs select on the device (only the matches come back); others scan here and select on the CPU.
  struct Result {
    std::vector<std::pair<match::Best2, match::Best2>> best2;
    std::vector<FeatureMatches> matches;
  };
  const bool fused = bank_->fused_selection();
  const match::SelectOptions sel{opt.max_distance, static_cast<float>(opt.max_ratio), opt.cross_check,
                                 opt.max_num_matches};
  auto scan = [this, fused, sel](std::shared_ptr<const Batch> b) {
    return std::async(std::launch::async, [this, fused, sel, b] {
      Result r;
      if (fused) r.matches = bank_->match_pairs(b->pairs, sel);
      else r.best2 = bank_->best2_pairs(b->pairs, sel.cross_check);
      return r;
    });
  };
  using Clock = std::chrono::steady_clock;
  std::shared_ptr<Batch> cur = next_batch();
  std::future<Result> pending = scan(cur);
  while (true) {
    auto t0 = Clock::now();
    Result res = pending.get();
    stats_.scan_wait_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++stats_.batches;
    std::shared_ptr<Batch> next;
    if (begin < pairs.size()) {
      next = next_batch();
      pending = scan(next);
    }
    t0 = Clock::now();
    if (fused) {
      for (size_t k = 0; k < cur->pairs.size(); ++k) out[cur->where[k]] = std::move(res.matches[k]);
    } else {
      parallel_for(static_cast<int64_t>(cur->pairs.size()), [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) out[cur->where[k]] = combine(res.best2[k], opt);
      }, 1);
    }
    stats_.select_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    if (progress) progress(static_cast<int>(cur->end));
    if (!next) break;
    cur = std::move(next);
  }
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
