// LO-RANSAC with MSAC scoring (Lebeda et al. 2012; Torr & Zisserman 2000), COLMAP's loransac.h semantics:
// random minimal samples, every model scored by sum(min(r^2, t^2)), each new best model locally optimised by a
// non-minimal fit on its inliers (repeated while it improves, at most 10 times), and COLMAP's adaptive number
// of trials N = ceil(3 * log(1 - confidence) / log(1 - w^s)) from the best inlier ratio w.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "core/error.h"
#include "geometry/two_view.h"

namespace vg::ransac {

// COLMAP's RANSAC::ComputeNumTrials with its dynamic multiplier 3.
inline int64_t num_trials(int64_t num_inliers, int64_t num_samples, int sample_size, double confidence) {
  const double inlier_ratio = static_cast<double>(num_inliers) / static_cast<double>(num_samples);
  const double nom = 1 - confidence;
  if (nom <= 0) return std::numeric_limits<int64_t>::max();
  const double denom = 1 - std::pow(inlier_ratio, sample_size);
  if (denom <= 0) return 1;
  if (denom >= 1) return std::numeric_limits<int64_t>::max();
  const double n = std::ceil(std::log(nom) / std::log(denom) * 3.0);
  return n > 1e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(n);
}

struct Support {
  int num_inliers = 0;
  double score = std::numeric_limits<double>::infinity();  // MSAC: sum of min(r^2, t^2)
  bool better_than(const Support& o) const { return score < o.score; }
};

template <typename Model>
struct Report {
  bool success = false;
  Model model{};
  Support support;
  std::vector<char> inlier_mask;
  int num_trials = 0;
};

// minimal(const std::vector<int>& sample) -> std::vector<Model>
// residual(const Model&, int i) -> double   (squared residual of datum i)
// local(const std::vector<int>& inliers, const Model& current) -> std::vector<Model>   (non-minimal refit)
template <typename Model, typename Minimal, typename Residual, typename Local>
Report<Model> lo_msac(int num_data, int sample_size, const RansacOptions& opt, Minimal&& minimal, Residual&& residual,
                      Local&& local) {
  VG_CHECK(opt.max_error > 0, "RANSAC: max_error must be > 0, got ", opt.max_error);
  VG_CHECK(opt.confidence > 0 && opt.confidence < 1, "RANSAC: confidence must be in (0,1)");
  Report<Model> report;
  if (num_data < sample_size) return report;
  const double max_sq = opt.max_error * opt.max_error;
  // MSAC support; stops early (score = inf) once the partial score cannot beat `bound`.
  auto evaluate = [&](const Model& m, double bound, std::vector<double>* res) {
    Support s;
    s.score = 0;
    res->resize(num_data);
    for (int i = 0; i < num_data; ++i) {
      const double r = residual(m, i);
      (*res)[i] = r;
      if (r <= max_sq) {
        ++s.num_inliers;
        s.score += r;
      } else {
        s.score += max_sq;
      }
      if (s.score >= bound) {
        s.score = std::numeric_limits<double>::infinity();
        return s;
      }
    }
    return s;
  };
  // A priori minimum inlier ratio caps the trials (COLMAP: with 1e5 virtual samples).
  int64_t max_trials = opt.max_num_trials;
  if (opt.min_inlier_ratio > 0)
    max_trials = std::min<int64_t>(max_trials, num_trials(static_cast<int64_t>(1e5 * opt.min_inlier_ratio), 100000,
                                                          sample_size, opt.confidence));
  max_trials = std::max<int64_t>(max_trials, 1);

  std::mt19937_64 rng(opt.seed);
  std::vector<int> perm(num_data);
  std::iota(perm.begin(), perm.end(), 0);
  std::vector<int> sample(sample_size), inliers;
  std::vector<double> res, lres;
  Support best;
  bool have_best = false;
  int64_t dyn_trials = max_trials;
  int64_t trial = 0;
  const double inf = std::numeric_limits<double>::infinity();
  for (; trial < max_trials; ++trial) {
    if (have_best && trial >= dyn_trials && trial >= opt.min_num_trials) break;
    for (int i = 0; i < sample_size; ++i) {  // partial Fisher-Yates: sample without replacement
      std::uniform_int_distribution<int> u(i, num_data - 1);
      std::swap(perm[i], perm[u(rng)]);
      sample[i] = perm[i];
    }
    for (const Model& m : minimal(sample)) {
      Support s = evaluate(m, have_best ? best.score : inf, &res);
      if (have_best && !s.better_than(best)) continue;
      Model lbest = m;
      Support lsup = s;
      // Local optimisation: refit on the inliers while it improves the support.
      for (int it = 0; it < 10 && lsup.num_inliers > sample_size; ++it) {
        inliers.clear();
        for (int i = 0; i < num_data; ++i)
          if (res[i] <= max_sq) inliers.push_back(i);
        bool improved = false;
        for (const Model& lm : local(inliers, lbest)) {
          Support ls = evaluate(lm, lsup.score, &lres);
          if (ls.better_than(lsup)) {
            lsup = ls;
            lbest = lm;
            improved = true;
            res.swap(lres);
          }
        }
        if (!improved) break;
      }
      best = lsup;
      report.model = lbest;
      have_best = true;
      dyn_trials = std::min<int64_t>(max_trials, num_trials(best.num_inliers, num_data, sample_size, opt.confidence));
    }
  }
  report.num_trials = static_cast<int>(trial);
  if (!have_best || best.num_inliers < sample_size) return report;
  report.support = evaluate(report.model, inf, &res);
  report.inlier_mask.assign(num_data, 0);
  for (int i = 0; i < num_data; ++i) report.inlier_mask[i] = res[i] <= max_sq;
  report.success = true;
  return report;
}

}  // namespace vg::ransac
