// Descriptor matching (COLMAP semantics: ratio 0.8, max distance 0.7, cross-check) and the pair lists.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

#include <unistd.h>

#include "core/error.h"
#include "features/matching.h"
#include "features/matching_internal.h"
#include "test_util.h"

namespace vg::test {
namespace {

// Random descriptors with squared L2 norm close to 512^2 (as quantised RootSIFT).
SiftDescriptors random_descriptors(int n, std::mt19937& rng) {
  std::gamma_distribution<double> g(0.5, 1.0);
  SiftDescriptors d(n, 128);
  for (int i = 0; i < n; ++i) {
    std::vector<double> v(128);
    double s = 0;
    for (double& x : v) s += x = g(rng);
    for (int k = 0; k < 128; ++k) d(i, k) = static_cast<uint8_t>(std::min(255.0, std::round(512 * std::sqrt(v[k] / s))));
  }
  return d;
}

SiftDescriptors perturbed(const SiftDescriptors& d, int amp, std::mt19937& rng) {
  std::uniform_int_distribution<int> u(-amp, amp);
  SiftDescriptors o = d;
  for (Eigen::Index i = 0; i < o.size(); ++i) o.data()[i] = static_cast<uint8_t>(std::clamp(o.data()[i] + u(rng), 0, 255));
  return o;
}

TEST(Matching, RecoversPermutedNoisyCopies) {
  std::mt19937 rng(1);
  const int n = 400;
  SiftDescriptors d1 = random_descriptors(n, rng), noisy = perturbed(d1, 8, rng);
  std::vector<int> perm(n);
  for (int i = 0; i < n; ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  SiftDescriptors d2(n + 200, 128);
  d2.bottomRows(200) = random_descriptors(200, rng);
  for (int i = 0; i < n; ++i) d2.row(perm[i]) = noisy.row(i);
  FeatureMatches m = match_descriptors(d1, d2, MatchOptions{});
  ASSERT_EQ(m.size(), static_cast<size_t>(n));
  for (auto [i, j] : m) EXPECT_EQ(j, perm[i]);
}

TEST(Matching, RatioDistanceAndCrossCheckFollowColmap) {
  std::mt19937 rng(2);
  SiftDescriptors d1 = random_descriptors(3, rng), d2(4, 128);
  d2.row(0) = d1.row(0);  // 0: two identical candidates -> ratio test rejects (best == second)
  d2.row(1) = d1.row(0);
  d2.row(2) = d1.row(1);  // 1: exact match
  d2.row(3) = random_descriptors(1, rng).row(0);  // 2: unrelated (distance ~ 1 rad > 0.7)
  FeatureMatches m = match_descriptors(d1, d2, MatchOptions{});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], std::make_pair(1, 2));
  MatchOptions loose;
  loose.max_distance = 2.0;
  loose.max_ratio = 1.0;
  loose.cross_check = false;
  // Without cross-check, 2 -> its nearest unrelated descriptor passes the loose thresholds.
  EXPECT_EQ(match_descriptors(d1, d2, loose).size(), 2u);
  loose.max_num_matches = 1;
  EXPECT_EQ(match_descriptors(d1, d2, loose).size(), 1u);
  EXPECT_TRUE(match_descriptors(d1, SiftDescriptors(0, 128), MatchOptions{}).empty());
}

TEST(Matching, CrossCheckRejectsOneWayMatches) {
  std::mt19937 rng(3);
  SiftDescriptors base = random_descriptors(1, rng);
  SiftDescriptors d1(2, 128), d2(1, 128);
  d1.row(0) = base.row(0);
  SiftDescriptors other = random_descriptors(1, rng);  // row 1: halfway to an unrelated descriptor
  for (int k = 0; k < 128; ++k) d1(1, k) = static_cast<uint8_t>((int(base(0, k)) + other(0, k)) / 2);
  // Both rows of d1 prefer d2's only row; d2's row prefers d1's row 0.
  d2.row(0) = base.row(0);
  MatchOptions opt;
  opt.max_ratio = 1.0;  // a single candidate: second best dot 0 -> distance pi/2
  FeatureMatches m = match_descriptors(d1, d2, opt);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], std::make_pair(0, 0));
  opt.cross_check = false;
  EXPECT_EQ(match_descriptors(d1, d2, opt).size(), 2u);
}

TEST(Matching, CudaEqualsCpu) {
  if (!have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  std::mt19937 rng(4);
  SiftDescriptors d1 = random_descriptors(5000, rng), d2 = perturbed(d1, 10, rng);
  auto t0 = std::chrono::steady_clock::now();
  FeatureMatches cpu = match_descriptors(d1, d2, MatchOptions{});
  auto t1 = std::chrono::steady_clock::now();
  FeatureMatches gpu = match_descriptors(d1, d2, MatchOptions{}, Device::cuda());
  auto t2 = std::chrono::steady_clock::now();
  std::printf("[matching] 5000x5000: CPU %.3f s, CUDA %.3f s, %zu matches\n",
              std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count(), cpu.size());
  EXPECT_EQ(cpu, gpu);
}

// The pair matcher (descriptors uploaded once; the GPU selection) equals match_descriptors pair by pair, empty sets
// and a cap on the matches included.
TEST(Matching, GpuPairMatcherEqualsPerPairMatching) {
  if (!have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  std::mt19937 rng(9);
  std::vector<SiftDescriptors> sets;
  sets.push_back(random_descriptors(3000, rng));
  sets.push_back(perturbed(sets[0], 10, rng));
  sets.push_back(random_descriptors(0, rng));
  sets.push_back(perturbed(sets[1].topRows(1500), 12, rng));
  sets.push_back(random_descriptors(77, rng));
  std::vector<const SiftDescriptors*> ptrs;
  for (const auto& d : sets) ptrs.push_back(&d);
  GpuPairMatcher gpu(ptrs, Device::cuda());
  for (auto [cross, cap] : {std::pair{true, 32768}, {false, 32768}, {true, 100}}) {  // cap: at most that many
    MatchOptions opt;
    opt.cross_check = cross;
    opt.max_num_matches = cap;
    std::vector<std::pair<int, int>> pairs;
    for (int a = 0; a < 5; ++a)
      for (int b = 0; b < 5; ++b) {
        if (a == b) continue;
        EXPECT_EQ(gpu.match(a, b, opt), match_descriptors(sets[a], sets[b], opt)) << a << " " << b << " " << cross;
        pairs.emplace_back(a, b);
      }
    for (int64_t batch : {int64_t{1} << 22, int64_t{4000}}) {  // one batch; several (the next scans meanwhile)
      gpu.set_batch_queries(batch);
      int last = 0;
      const std::vector<FeatureMatches> many = gpu.match_many(pairs, opt, [&](int done) { last = done; });
      EXPECT_EQ(last, static_cast<int>(pairs.size()));
      EXPECT_EQ(gpu.stats().batches > 1, batch < 10000) << gpu.stats().batches;
      for (size_t k = 0; k < pairs.size(); ++k)
        EXPECT_EQ(many[k], match_descriptors(sets[pairs[k].first], sets[pairs[k].second], opt)) << k << " " << cross;
    }
  }
}

// The CUDA kernels' raw best / second / index equal a sequential scan (first index wins ties, an equal later
// dot becomes the second, nothing below a dot of 1), with duplicated and all-zero descriptors and sizes off the
// kernels' tiles (tensor cores: 32 queries a warp, 64 train rows a tile, 8 columns an MMA).
TEST(Matching, CudaBest2EqualsSequentialScanWithTies) {
  if (!have_cuda()) GTEST_SKIP() << "no usable CUDA GPU";
  std::mt19937 rng(12);
  for (auto [nq, nt] : {std::pair{129, 70}, {200, 1000}, {33, 7}, {1, 0}, {64, 65}}) {
    SiftDescriptors q = random_descriptors(nq, rng), t = random_descriptors(nt, rng);
    for (int i = 0; i + 3 < nt; i += 5) t.row(i + 3) = t.row(i);  // equal train rows: ties for best
    for (int i = 0; i < std::min(nq, nt); i += 7) q.row(i) = t.row(i);
    if (nt > 10) t.row(nt - 1).setZero(), t.row(2) = t.row(nt - 2);
    if (nq > 4) q.row(4).setZero();
    const match::Best2 got = match::best2_cuda(q.data(), nq, t.data(), nt, 0);
    for (int i = 0; i < nq; ++i) {
      int32_t best = 0, second = 0, idx = -1;
      for (int j = 0; j < nt; ++j) {
        int32_t d = 0;
        for (int k = 0; k < 128; ++k) d += int32_t{q(i, k)} * int32_t{t(j, k)};
        if (d > best) idx = j, second = best, best = d;
        else if (d > second) second = d;
      }
      ASSERT_EQ(got.idx[i], idx) << nq << "x" << nt << " row " << i;
      ASSERT_EQ(got.best[i], best) << nq << "x" << nt << " row " << i;
      ASSERT_EQ(got.second[i], second) << nq << "x" << nt << " row " << i;
    }
  }
}

// The AVX-512 VNNI kernel gives the GEMM path's best / second / index in both directions exactly, ties
// (duplicated descriptors, all-zero rows) and sizes off the 8 x 32 tile included.
TEST(Matching, SimdEqualsGemmPath) {
  if (!match::cpu_has_vnni()) GTEST_SKIP() << "CPU without AVX-512 VNNI";
  std::mt19937 rng(11);
  for (auto [n1, n2] : {std::pair{1, 1}, {37, 1000}, {300, 33}, {1203, 977}}) {
    SiftDescriptors d1 = random_descriptors(n1, rng), d2 = perturbed(d1.topRows(std::min(n1, n2)), 6, rng);
    if (n2 > n1) {
      SiftDescriptors more(n2, 128);
      more << d2, random_descriptors(n2 - n1, rng);
      d2 = more;
    }
    if (n2 > 3) d2.row(n2 - 1) = d2.row(1), d2.row(n2 - 2).setZero();  // a tie and an empty row
    match::Best2 rows, cols;
    ASSERT_TRUE(match::best2_vnni(d1.data(), n1, d2.data(), static_cast<int>(d2.rows()), &rows, &cols));
    // Reference: plain sequential scans of the exact integer dot products.
    for (int pass = 0; pass < 2; ++pass) {
      const SiftDescriptors& a = pass ? d2 : d1;
      const SiftDescriptors& b = pass ? d1 : d2;
      const match::Best2& got = pass ? cols : rows;
      for (int i = 0; i < a.rows(); ++i) {
        int32_t best = 0, second = 0, idx = -1;
        for (int j = 0; j < b.rows(); ++j) {
          const int32_t d = (a.row(i).cast<int32_t>() * b.row(j).cast<int32_t>().transpose())(0, 0);
          if (d > best) idx = j, second = best, best = d;
          else if (d > second) second = d;
        }
        ASSERT_EQ(got.idx[i], idx) << n1 << "x" << n2 << " pass " << pass << " row " << i;
        ASSERT_EQ(got.best[i], best);
        ASSERT_EQ(got.second[i], second);
      }
    }
    MatchOptions simd, gemm;
    gemm.allow_simd = false;
    EXPECT_EQ(match_descriptors(d1, d2, simd), match_descriptors(d1, d2, gemm));
  }
}

TEST(Matching, PairLists) {
  auto ex = exhaustive_pairs(5);
  EXPECT_EQ(ex.size(), 10u);
  EXPECT_EQ(ex.front(), std::make_pair(0, 1));
  EXPECT_EQ(ex.back(), std::make_pair(3, 4));
  auto seq = sequential_pairs(5, 2);
  std::vector<std::pair<int, int>> want = {{0, 1}, {0, 2}, {1, 2}, {1, 3}, {2, 3}, {2, 4}, {3, 4}};
  EXPECT_EQ(seq, want);
  EXPECT_EQ(sequential_pairs(3, 10).size(), 3u);
  EXPECT_THROW(sequential_pairs(3, 0), Error);
  EXPECT_TRUE(exhaustive_pairs(1).empty());
}

TEST(Matching, PairsFile) {
  auto dir = std::filesystem::temp_directory_path() / ("vg_pairs_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::vector<std::string> names = {"a.jpg", "b.jpg", "c.jpg"};
  {
    std::ofstream(dir / "ok.txt") << "# comment\na.jpg b.jpg\n\nc.jpg a.jpg\nb.jpg a.jpg\n";
    std::ofstream(dir / "unknown.txt") << "a.jpg b.jpg\na.jpg d.jpg\n";
    std::ofstream(dir / "bad.txt") << "a.jpg\n";
  }
  std::vector<std::pair<int, int>> want = {{0, 1}, {2, 0}};
  EXPECT_EQ(read_pairs_file(dir / "ok.txt", names), want);
  try {
    read_pairs_file(dir / "unknown.txt", names);
    ADD_FAILURE() << "no error for an unknown name";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":2: unknown image 'd.jpg'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_pairs_file(dir / "bad.txt", names), Error);
  EXPECT_THROW(read_pairs_file(dir / "missing.txt", names), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vg::test
