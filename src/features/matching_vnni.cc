// Brute-force best/second-best dot products of uint8 SIFT descriptors with AVX-512 VNNI (vpdpbusd: 64
// byte products per instruction, exact int32 sums), selected at run time: CPUs without it use the float
// GEMM path of matching.cc, with identical results (both are exact integer arithmetic).
// vpdpbusd multiplies unsigned by signed bytes, so train descriptors are stored as t - 128 and
// dot(q, t) = sum q (t - 128) + 128 sum q.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/parallel.h"
#include "features/matching_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define VG_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define VG_HAVE_VNNI_BUILD 1
#else
#define VG_HAVE_VNNI_BUILD 0
#endif

namespace vg::match {

#if VG_HAVE_VNNI_BUILD
namespace {

constexpr int kDim = 128, kGroups = kDim / 4;   // 4-byte groups per descriptor
constexpr int kRows = 8, kCols = 32;            // micro-kernel tile: 8 query rows x 32 train columns
constexpr int kBlock = 256;                     // query rows per thread task

// Train descriptors as signed bytes in panels of 16 columns: panel p, group g -> 16 x 4 bytes.
std::vector<int8_t> pack_train(const uint8_t* t, int nt, int nt_pad) {
  std::vector<int8_t> packed(static_cast<size_t>(nt_pad) * kDim, 0);
  for (int j = 0; j < nt; ++j)
    for (int g = 0; g < kGroups; ++g)
      for (int b = 0; b < 4; ++b)
        packed[((static_cast<size_t>(j / 16) * kGroups + g) * 16 + j % 16) * 4 + b] =
            static_cast<int8_t>(static_cast<int>(t[static_cast<size_t>(j) * kDim + 4 * g + b]) - 128);
  return packed;
}

// dots[r * ld + j] for r < 8 query rows (q8: 8 rows of 128 bytes, zero rows past the end), all nt_pad columns.
VG_VNNI_TARGET void tile_rows(const uint8_t* q8, const int32_t* qsum, const int8_t* packed, int nt_pad, int32_t* dots,
                              int ld) {
  for (int j0 = 0; j0 < nt_pad; j0 += kCols) {
    __m512i acc[kRows][2];
    for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = _mm512_set1_epi32(128 * qsum[r]);
    const int8_t* p0 = packed + static_cast<size_t>(j0 / 16) * kGroups * 64;
    const int8_t* p1 = p0 + kGroups * 64;
    for (int g = 0; g < kGroups; ++g) {
      const __m512i b0 = _mm512_loadu_si512(p0 + g * 64), b1 = _mm512_loadu_si512(p1 + g * 64);
      for (int r = 0; r < kRows; ++r) {
        int32_t a4;
        std::memcpy(&a4, q8 + r * kDim + 4 * g, 4);
        const __m512i a = _mm512_set1_epi32(a4);
        acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], a, b0);
        acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], a, b1);
      }
    }
    for (int r = 0; r < kRows; ++r) {
      _mm512_storeu_si512(dots + static_cast<size_t>(r) * ld + j0, acc[r][0]);
      _mm512_storeu_si512(dots + static_cast<size_t>(r) * ld + j0 + 16, acc[r][1]);
    }
  }
}

// Per column j < nt: fold rows r0.. of dots into (best, second, idx) with the sequential-scan semantics
// (strictly greater replaces, so the first row wins ties); lanes are 16 consecutive columns.
VG_VNNI_TARGET void scan_cols(const int32_t* dots, int ld, int rn, int r0, int nt, Best2& cols) {
  int j = 0;
  for (; j + 16 <= nt; j += 16) {
    __m512i best = _mm512_loadu_si512(cols.best.data() + j), second = _mm512_loadu_si512(cols.second.data() + j);
    __m512i idx = _mm512_loadu_si512(cols.idx.data() + j);
    for (int r = 0; r < rn; ++r) {
      const __m512i d = _mm512_loadu_si512(dots + static_cast<size_t>(r) * ld + j);
      const __mmask16 gt_best = _mm512_cmpgt_epi32_mask(d, best), gt_second = _mm512_cmpgt_epi32_mask(d, second);
      second = _mm512_mask_mov_epi32(_mm512_mask_mov_epi32(second, gt_second, d), gt_best, best);
      best = _mm512_mask_mov_epi32(best, gt_best, d);
      idx = _mm512_mask_mov_epi32(idx, gt_best, _mm512_set1_epi32(r0 + r));
    }
    _mm512_storeu_si512(cols.best.data() + j, best);
    _mm512_storeu_si512(cols.second.data() + j, second);
    _mm512_storeu_si512(cols.idx.data() + j, idx);
  }
  for (; j < nt; ++j)
    for (int r = 0; r < rn; ++r) {
      const int32_t d = dots[static_cast<size_t>(r) * ld + j];
      if (d > cols.best[j]) cols.idx[j] = r0 + r, cols.second[j] = cols.best[j], cols.best[j] = d;
      else if (d > cols.second[j]) cols.second[j] = d;
    }
}

// One row: best (first index of the maximum, only if > 0), second = second largest value (duplicates count).
VG_VNNI_TARGET void scan_row(const int32_t* row, int nt, int32_t* best_out, int32_t* second_out, int32_t* idx_out) {
  __m512i best = _mm512_setzero_si512(), second = _mm512_setzero_si512(), idx = _mm512_set1_epi32(-1);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int j = 0;
  for (; j + 16 <= nt; j += 16) {
    const __m512i d = _mm512_loadu_si512(row + j);
    const __mmask16 gt_best = _mm512_cmpgt_epi32_mask(d, best), gt_second = _mm512_cmpgt_epi32_mask(d, second);
    second = _mm512_mask_mov_epi32(_mm512_mask_mov_epi32(second, gt_second, d), gt_best, best);
    best = _mm512_mask_mov_epi32(best, gt_best, d);
    idx = _mm512_mask_mov_epi32(idx, gt_best, _mm512_add_epi32(lane, _mm512_set1_epi32(j)));
  }
  alignas(64) int32_t b[16], s[16], ix[16];
  _mm512_store_si512(b, best);
  _mm512_store_si512(s, second);
  _mm512_store_si512(ix, idx);
  int32_t bb = 0, ss = 0, ii = -1;
  for (int l = 0; l < 16; ++l) {  // merge lanes: max value, smallest index among equal maxima
    if (b[l] > bb || (b[l] == bb && b[l] > 0 && ix[l] < ii)) {
      ss = std::max(ss, bb);
      bb = b[l], ii = ix[l];
    } else {
      ss = std::max(ss, b[l]);
    }
    ss = std::max(ss, s[l]);
  }
  for (; j < nt; ++j) {
    if (row[j] > bb) ii = j, ss = bb, bb = row[j];
    else if (row[j] > ss) ss = row[j];
  }
  *best_out = bb, *second_out = ss, *idx_out = ii;
}

Best2 empty(int n) { return {std::vector<int32_t>(n, -1), std::vector<int32_t>(n, 0), std::vector<int32_t>(n, 0)}; }

}  // namespace

bool cpu_has_vnni() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512vnni");
  return ok;
}

bool best2_vnni(const uint8_t* q, int nq, const uint8_t* t, int nt, Best2* rows_out, Best2* cols_out) {
  if (!cpu_has_vnni()) return false;
  const int nt_pad = (nt + kCols - 1) / kCols * kCols;
  const std::vector<int8_t> packed = pack_train(t, nt, nt_pad);
  Best2 rows = empty(nq);
  const int nblocks = (nq + kBlock - 1) / kBlock;
  std::mutex mutex;
  std::vector<std::pair<int64_t, Best2>> parts;
  parallel_for(nblocks, [&](int64_t b, int64_t e) {
    Best2 cols = empty(nt);
    std::vector<int32_t> dots(static_cast<size_t>(kBlock) * nt_pad);
    std::vector<uint8_t> q8(kRows * kDim);
    for (int64_t blk = b; blk < e; ++blk) {
      const int r0 = static_cast<int>(blk) * kBlock, rn = std::min(kBlock, nq - r0);
      for (int r = 0; r < rn; r += kRows) {
        const int n = std::min(kRows, rn - r);
        int32_t qsum[kRows] = {};
        std::fill(q8.begin(), q8.end(), 0);
        std::memcpy(q8.data(), q + static_cast<size_t>(r0 + r) * kDim, static_cast<size_t>(n) * kDim);
        for (int k = 0; k < n; ++k)
          for (int c = 0; c < kDim; ++c) qsum[k] += q8[k * kDim + c];
        tile_rows(q8.data(), qsum, packed.data(), nt_pad, dots.data() + static_cast<size_t>(r) * nt_pad, nt_pad);
      }
      for (int r = 0; r < rn; ++r)
        scan_row(dots.data() + static_cast<size_t>(r) * nt_pad, nt, &rows.best[r0 + r], &rows.second[r0 + r],
                 &rows.idx[r0 + r]);
      scan_cols(dots.data(), nt_pad, rn, r0, nt, cols);
    }
    std::lock_guard<std::mutex> lock(mutex);
    parts.emplace_back(b, std::move(cols));
  }, 1);
  std::sort(parts.begin(), parts.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  Best2 cols = empty(nt);
  for (const auto& part : parts) merge_best2(cols, part.second);
  *rows_out = std::move(rows);
  *cols_out = std::move(cols);
  return true;
}

#else
bool cpu_has_vnni() { return false; }
bool best2_vnni(const uint8_t*, int, const uint8_t*, int, Best2*, Best2*) { return false; }
#endif

}  // namespace vg::match
