#include "sfm/guided_matching.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include <Eigen/Dense>

#include "core/error.h"
#include "core/stats.h"
#include "core/parallel.h"
#include "geometry/camera_models.h"

namespace vg {
namespace {

double mean_focal(const ColmapCamera& cam) {
  const std::vector<int> idx = camera_focal_idxs(colmap_model_id(cam.model));
  double f = 0;
  for (int k : idx) f += cam.params[k];
  return f / static_cast<double>(idx.size());
}

Eigen::Vector3d center(const PosedView& v) { return -v.R.transpose() * v.t; }

bool in_frame(const PosedView& v, const Eigen::Vector3d& X) {
  const Eigen::Vector3d pc = v.R * X + v.t;
  if (pc.z() <= 1e-12) return false;
  const Eigen::Vector2d px = camera_project<double>(colmap_model_id(v.camera.model), v.camera.params.data(), pc);
  return px.x() >= 0 && px.y() >= 0 && px.x() < static_cast<double>(v.camera.width) &&
         px.y() < static_cast<double>(v.camera.height);
}

// View a's grid of pixels placed at 0.5x, 1x and 2x its scene depth (world points, scale by scale).
std::vector<Eigen::Vector3d> overlap_samples(const PosedView& a, int grid) {
  VG_CHECK(a.depth > 0, "view_overlap: view without a scene depth");
  std::vector<Eigen::Vector2d> xn;
  for (int gy = 0; gy < grid; ++gy)
    for (int gx = 0; gx < grid; ++gx)
      xn.push_back(camera_unproject(a.camera, Eigen::Vector2d((gx + 0.5) * a.camera.width / grid,
                                                               (gy + 0.5) * a.camera.height / grid)));
  std::vector<Eigen::Vector3d> X;
  for (double scale : {0.5, 1.0, 2.0}) {
    const double d = scale * a.depth;
    for (const Eigen::Vector2d& x : xn) X.push_back(a.R.transpose() * (Eigen::Vector3d(x.x() * d, x.y() * d, d) - a.t));
  }
  return X;
}

// The best scale's share of a's samples that b sees.
double overlap_of(const std::vector<Eigen::Vector3d>& samples, const PosedView& b) {
  const size_t per_scale = samples.size() / 3;
  size_t best = 0;
  for (size_t s = 0; s < 3; ++s) {
    size_t inside = 0;
    for (size_t k = s * per_scale; k < (s + 1) * per_scale; ++k) inside += in_frame(b, samples[k]);
    best = std::max(best, inside);
  }
  return per_scale ? static_cast<double>(best) / static_cast<double>(per_scale) : 0.0;
}

}  // namespace

double view_overlap(const PosedView& a, const PosedView& b, int grid) { return overlap_of(overlap_samples(a, grid), b); }

void estimate_view_depths(std::vector<PosedView>& views) {
  const size_t n = views.size();
  if (n == 0) return;
  // The point nearest all optical axes: sum_i (I - d_i d_i^T) X = sum_i (I - d_i d_i^T) c_i.
  Eigen::Matrix3d A = Eigen::Matrix3d::Zero();
  Eigen::Vector3d b = Eigen::Vector3d::Zero();
  for (const PosedView& v : views) {
    const Eigen::Vector3d d = v.R.row(2).transpose();  // optical axis in the world
    const Eigen::Matrix3d P = Eigen::Matrix3d::Identity() - d * d.transpose();
    A += P;
    b += P * center(v);
  }
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> es(A);
  const bool conditioned = n >= 2 && es.eigenvalues()(0) > 1e-3 * es.eigenvalues()(2);
  const Eigen::Vector3d X = conditioned ? Eigen::Vector3d(A.ldlt().solve(b)) : Eigen::Vector3d::Zero();
  // Fallback: 10x the median nearest-neighbour camera distance (forward-facing captures).
  std::vector<double> nn;
  for (size_t i = 0; i < n; ++i) {
    double m = INFINITY;
    for (size_t j = 0; j < n; ++j)
      if (j != i) m = std::min(m, (center(views[i]) - center(views[j])).norm());
    if (std::isfinite(m) && m > 0) nn.push_back(m);
  }
  const double fallback = nn.empty() ? 1.0 : 10 * quantile(nn, 0.5);
  for (PosedView& v : views) {
    if (v.depth > 0) continue;
    const double z = conditioned ? (v.R * X + v.t).z() : 0;
    v.depth = z > 0 && std::isfinite(z) ? z : fallback;
  }
}

std::vector<std::pair<int, int>> overlap_pairs(const std::vector<PosedView>& views, const OverlapOptions& opt,
                                               std::vector<double>* overlap) {
  const int n = static_cast<int>(views.size());
  std::vector<std::vector<double>> ov(n, std::vector<double>(n, 0));
  parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const std::vector<Eigen::Vector3d> samples = overlap_samples(views[i], opt.grid);  // unprojected once
      for (int j = 0; j < n; ++j)
        if (j != i) ov[i][j] = overlap_of(samples, views[j]);
    }
  }, 1);
  std::vector<std::vector<char>> keep(n, std::vector<char>(n, 0));
  for (int i = 0; i < n; ++i) {
    std::vector<std::pair<double, int>> partners;
    for (int j = 0; j < n; ++j) {
      const double o = std::max(ov[i][j], ov[j][i]);
      const double cos_axes = views[i].R.row(2).dot(views[j].R.row(2));
      if (opt.max_axis_angle_deg > 0 && cos_axes < std::cos(opt.max_axis_angle_deg * 3.14159265358979323846 / 180))
        continue;
      if (j != i && o >= opt.min_overlap) partners.push_back({o, j});
    }
    std::sort(partners.rbegin(), partners.rend());
    if (opt.max_pairs_per_image > 0 && static_cast<int>(partners.size()) > opt.max_pairs_per_image)
      partners.resize(opt.max_pairs_per_image);
    for (auto [o, j] : partners) keep[std::min(i, j)][std::max(i, j)] = 1;
  }
  std::vector<std::pair<int, int>> pairs;
  if (overlap) overlap->clear();
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (keep[i][j]) {
        pairs.push_back({i, j});
        if (overlap) overlap->push_back(std::max(ov[i][j], ov[j][i]));
      }
  return pairs;
}

namespace {

// Sampson distances of matches between normalised (undistorted) coordinates xa, xb, scaled to pixels.
std::vector<double> sampson_pixels(const PosedView& a, const std::vector<Eigen::Vector2d>& xa, const PosedView& b,
                                   const std::vector<Eigen::Vector2d>& xb, const FeatureMatches& matches) {
  // E = [t]x R with b_from_a = (R_b R_a^T, t_b - R t_a) (Hartley & Zisserman eq. 9.12); Sampson distance
  // (eq. 11.9) in normalised coordinates, scaled to pixels by the mean focal length.
  const Eigen::Matrix3d R = b.R * a.R.transpose();
  const Eigen::Vector3d t = b.t - R * a.t;
  Eigen::Matrix3d tx;
  tx << 0, -t.z(), t.y(), t.z(), 0, -t.x(), -t.y(), t.x(), 0;
  const Eigen::Matrix3d E = tx * R;
  const double f = 0.5 * (mean_focal(a.camera) + mean_focal(b.camera));
  std::vector<double> err(matches.size(), 0);
  if (t.norm() <= 1e-12 * std::max(1.0, a.t.norm())) return err;  // no baseline: no epipolar constraint
  for (size_t k = 0; k < matches.size(); ++k) {
    const Eigen::Vector2d& x1 = xa[matches[k].first];
    const Eigen::Vector2d& x2 = xb[matches[k].second];
    const Eigen::Vector3d h1(x1.x(), x1.y(), 1), h2(x2.x(), x2.y(), 1);
    const Eigen::Vector3d Ex1 = E * h1, Etx2 = E.transpose() * h2;
    const double num = h2.dot(Ex1);
    const double den = Ex1.x() * Ex1.x() + Ex1.y() * Ex1.y() + Etx2.x() * Etx2.x() + Etx2.y() * Etx2.y();
    err[k] = den > 0 ? f * std::abs(num) / std::sqrt(den) : 0;
  }
  return err;
}

std::vector<Eigen::Vector2d> normalized(const ColmapCamera& cam, const std::vector<Eigen::Vector2d>& pixels) {
  std::vector<Eigen::Vector2d> out(pixels.size());
  for (size_t k = 0; k < pixels.size(); ++k) out[k] = camera_unproject(cam, pixels[k]);
  return out;
}

}  // namespace

std::vector<double> prior_epipolar_errors(const PosedView& a, const std::vector<Eigen::Vector2d>& points_a,
                                          const PosedView& b, const std::vector<Eigen::Vector2d>& points_b,
                                          const FeatureMatches& matches) {
  return sampson_pixels(a, normalized(a.camera, points_a), b, normalized(b.camera, points_b), matches);
}

namespace {

double angle_deg(double cos_angle) { return std::acos(std::clamp(cos_angle, -1.0, 1.0)) * 180 / 3.14159265358979323846; }

// How far a verified pair's relative rotation is from the initial cameras' one (degrees).
double prior_rotation_diff(const PosedView& a, const PosedView& b, const TwoViewGeometry& g) {
  const Eigen::Matrix3d R = b.R * a.R.transpose();  // b_from_a of the initial poses
  const Eigen::Matrix3d Rg = g.cam2_from_cam1_q.normalized().toRotationMatrix();
  return angle_deg(0.5 * ((Rg * R.transpose()).trace() - 1));
}

}  // namespace

GuidedMatchResult guided_verify(const std::vector<PosedView>& views,
                                const std::vector<std::vector<Eigen::Vector2d>>& keypoints,
                                const std::vector<std::pair<int, int>>& pairs,
                                const std::vector<FeatureMatches>& matches, const GuidedMatchOptions& opt) {
  VG_CHECK(pairs.size() == matches.size(), "guided_verify: ", pairs.size(), " pairs but ", matches.size(),
           " match lists");
  VG_CHECK(views.size() == keypoints.size(), "guided_verify: ", views.size(), " views but ", keypoints.size(),
           " keypoint lists");
  const int n = static_cast<int>(pairs.size());
  GuidedMatchResult res;
  res.pairs_in = n;
  // Every keypoint undistorted once (all threads).
  std::vector<std::vector<Eigen::Vector2d>> xn(views.size());
  parallel_for(static_cast<int64_t>(views.size()), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) xn[i] = normalized(views[i].camera, keypoints[i]);
  }, 1);
  const size_t min_inliers = static_cast<size_t>(std::max(1, opt.two_view.min_num_inliers));

  // 1. RANSAC on every pair (after the optional prefilter by the initial epipolar geometry).
  std::vector<TwoViewGeometry> geoms(n);
  std::vector<std::vector<double>> inlier_err(n);
  std::atomic<int64_t> prefiltered{0};
  std::mutex progress_mutex;
  int done = 0;
  // pairs differ a lot in cost (RANSAC runs to its iteration limit on the poor ones): handed out one by one
  parallel_dynamic(n, opt.num_threads > 0 ? opt.num_threads : num_threads(), [&](int p) {
    {
      if (opt.wait_for_pair) opt.wait_for_pair(p);
      const auto [i, j] = pairs[p];
      const std::vector<double> err = sampson_pixels(views[i], xn[i], views[j], xn[j], matches[p]);
      FeatureMatches kept;
      std::unordered_map<uint64_t, double> err_of;  // keyed by the match's two keypoint indices
      auto key = [](const std::pair<int, int>& m) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(m.first)) << 32) | static_cast<uint32_t>(m.second);
      };
      err_of.reserve(matches[p].size());
      for (size_t m = 0; m < matches[p].size(); ++m) {
        err_of[key(matches[p][m])] = err[m];
        if (opt.epipolar_tolerance_px <= 0 || err[m] <= opt.epipolar_tolerance_px) kept.push_back(matches[p][m]);
      }
      prefiltered += static_cast<int64_t>(matches[p].size() - kept.size());
      if (kept.size() >= min_inliers) {
        TwoViewOptions tv = opt.two_view;
        tv.ransac.seed = opt.seed * 1000003ULL + static_cast<uint64_t>(p) + 1;
        TwoViewGeometry g = estimate_two_view_geometry(views[i].camera, keypoints[i], xn[i], views[j].camera,
                                                       keypoints[j], xn[j], kept, opt.has_prior_focal, tv);
        if (g.config != TwoViewGeometry::UNDEFINED && g.config != TwoViewGeometry::DEGENERATE &&
            g.inlier_matches.size() >= min_inliers) {
          for (const auto& m : g.inlier_matches) inlier_err[p].push_back(err_of[key(m)]);
          geoms[p] = std::move(g);
        }
      }
      if (opt.progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        opt.progress(++done, n);
      }
    }
  });
  res.matches_prior_rejected = prefiltered;
  for (int p = 0; p < n; ++p) res.matches_in += static_cast<int64_t>(matches[p].size());

  // 2. The pairs' agreement with the initial cameras; tolerances from the medians over all verified pairs.
  std::vector<double> rot_diff(n, 0);
  std::vector<double> rot, all_err, pair_err(n, 0), pair_errs;
  for (int p = 0; p < n; ++p) {
    if (geoms[p].inlier_matches.empty()) continue;
    ++res.pairs_ransac;
    rot_diff[p] = prior_rotation_diff(views[pairs[p].first], views[pairs[p].second], geoms[p]);
    rot.push_back(rot_diff[p]);
    all_err.insert(all_err.end(), inlier_err[p].begin(), inlier_err[p].end());
    pair_err[p] = quantile(inlier_err[p], 0.5);
    pair_errs.push_back(pair_err[p]);
  }
  res.median_rotation_diff_deg = rot.empty() ? 0 : quantile(rot, 0.5);
  res.rotation_tolerance_deg = opt.tolerance_factor > 0
                                   ? std::max(opt.min_rotation_tolerance_deg, opt.tolerance_factor * res.median_rotation_diff_deg)
                                   : INFINITY;
  res.tolerance_px = all_err.empty() ? 0 : 2 * quantile(all_err, 0.95);
  res.median_pair_error_px = pair_errs.empty() ? 0 : quantile(pair_errs, 0.5);
  res.pair_error_tolerance_px = opt.pair_error_factor > 0
                                    ? std::max(opt.min_pair_error_tolerance_px, opt.pair_error_factor * res.median_pair_error_px)
                                    : INFINITY;
  for (int p = 0; p < n; ++p) {
    if (geoms[p].inlier_matches.empty()) continue;
    // Dropped (pair_error_factor > 0) when the inliers contradict the initial epipolar geometry; left out of
    // rotation averaging (tolerance_factor > 0) when the relative rotation is far from the initial one.
    if (pair_err[p] > res.pair_error_tolerance_px) {
      ++res.pairs_prior_rejected;
      res.matches_prior_rejected += static_cast<int64_t>(geoms[p].inlier_matches.size());
      continue;
    }
    if (rot_diff[p] > res.rotation_tolerance_deg) res.rotation_off.insert(pairs[p]);
    res.matches_verified += static_cast<int64_t>(geoms[p].inlier_matches.size());
    res.verified.emplace(pairs[p], std::move(geoms[p]));
  }
  res.pairs_verified = static_cast<int>(res.verified.size());
  return res;
}

}  // namespace vg
