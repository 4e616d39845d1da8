// Two-view geometry with COLMAP's decision logic (estimators/two_view_geometry.cc): LO-MSAC for E (calibrated),
// F and H; configuration from the inlier counts; relative pose and median triangulation angle of the inliers.
#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "core/error.h"
#include "geometry/camera_models.h"
#include "geometry/ransac.h"
#include "geometry/triangulation.h"
#include "geometry/two_view.h"
#include "geometry/two_view_internal.h"

namespace vg {
namespace {

using Points = std::vector<Eigen::Vector2d>;

Points gather(const Points& x, const std::vector<int>& idx) {
  Points out;
  out.reserve(idx.size());
  for (int i : idx) out.push_back(x[i]);
  return out;
}

ransac::Report<Eigen::Matrix3d> ransac_essential(const Points& x1n, const Points& x2n, RansacOptions o) {
  auto res = [&](const Eigen::Matrix3d& E, int i) { return sampson_error_sq(E, x1n[i], x2n[i]); };
  auto fit = [&](const std::vector<int>& s) { return essential_5pt(gather(x1n, s), gather(x2n, s)); };
  auto local = [&](const std::vector<int>& s, const Eigen::Matrix3d&) { return fit(s); };
  return ransac::lo_msac<Eigen::Matrix3d>(static_cast<int>(x1n.size()), 5, o, fit, res, local);
}

ransac::Report<Eigen::Matrix3d> ransac_fundamental(const Points& x1, const Points& x2, const RansacOptions& o) {
  auto res = [&](const Eigen::Matrix3d& F, int i) { return sampson_error_sq(F, x1[i], x2[i]); };
  auto minimal = [&](const std::vector<int>& s) { return fundamental_7pt(gather(x1, s), gather(x2, s)); };
  auto local = [&](const std::vector<int>& s, const Eigen::Matrix3d&) {
    return std::vector<Eigen::Matrix3d>{fundamental_8pt(gather(x1, s), gather(x2, s))};
  };
  return ransac::lo_msac<Eigen::Matrix3d>(static_cast<int>(x1.size()), 7, o, minimal, res, local);
}

ransac::Report<Eigen::Matrix3d> ransac_homography(const Points& x1, const Points& x2, const RansacOptions& o) {
  auto res = [&](const Eigen::Matrix3d& H, int i) { return homography_error_sq(H, x1[i], x2[i]); };
  auto fit = [&](const std::vector<int>& s) {
    return std::vector<Eigen::Matrix3d>{homography_dlt(gather(x1, s), gather(x2, s))};
  };
  auto local = [&](const std::vector<int>& s, const Eigen::Matrix3d&) { return fit(s); };
  return ransac::lo_msac<Eigen::Matrix3d>(static_cast<int>(x1.size()), 4, o, fit, res, local);
}

Eigen::Matrix3d calibration(const ColmapCamera& cam) {
  const int id = colmap_model_id(cam.model);
  const std::vector<int> f = camera_focal_idxs(id), pp = camera_pp_idxs(id);
  Eigen::Matrix3d K = Eigen::Matrix3d::Identity();
  K(0, 0) = cam.params[f[0]];
  K(1, 1) = cam.params[f.size() > 1 ? f[1] : f[0]];
  K(0, 2) = cam.params[pp[0]];
  K(1, 2) = cam.params[pp[1]];
  return K;
}

// Simplified watermark test (COLMAP's DetectWatermark fits a 2-D translation by RANSAC to the inliers in the
// border bands): here the inliers whose two points both lie in the border band of their images and whose
// displacement is within max_error of the median border displacement; WATERMARK when they are at least
// watermark_min_inlier_ratio of all inliers.
bool detect_watermark(const ColmapCamera& c1, const Points& x1, const ColmapCamera& c2, const Points& x2,
                      const std::vector<int>& inliers, const TwoViewOptions& opt) {
  auto in_border = [&](const ColmapCamera& c, const Eigen::Vector2d& p) {
    const double bx = opt.watermark_border_size * c.width, by = opt.watermark_border_size * c.height;
    return p(0) < bx || p(0) > c.width - bx || p(1) < by || p(1) > c.height - by;
  };
  std::vector<Eigen::Vector2d> d;
  for (int i : inliers)
    if (in_border(c1, x1[i]) && in_border(c2, x2[i])) d.push_back(x2[i] - x1[i]);
  if (d.size() < opt.watermark_min_inlier_ratio * inliers.size() || d.empty()) return false;
  std::vector<double> dx, dy;
  for (const auto& v : d) {
    dx.push_back(v(0));
    dy.push_back(v(1));
  }
  std::nth_element(dx.begin(), dx.begin() + dx.size() / 2, dx.end());
  std::nth_element(dy.begin(), dy.begin() + dy.size() / 2, dy.end());
  const Eigen::Vector2d med(dx[dx.size() / 2], dy[dy.size() / 2]);
  size_t n = 0;
  for (const auto& v : d) n += (v - med).norm() <= opt.ransac.max_error;
  return n >= opt.watermark_min_inlier_ratio * inliers.size();
}

// Relative pose and median triangulation angle from the configuration's matrix (COLMAP's
// EstimateTwoViewGeometryPose); PLANAR_OR_PANORAMIC resolves to PANORAMIC when the homography is a rotation.
void estimate_pose(const ColmapCamera& cam1, const ColmapCamera& cam2, const Points& x1n, const Points& x2n,
                   TwoViewGeometry* g) {
  Eigen::Matrix3d R = Eigen::Matrix3d::Identity();
  Eigen::Vector3d t = Eigen::Vector3d::Zero();
  if (g->config == TwoViewGeometry::CALIBRATED || g->config == TwoViewGeometry::UNCALIBRATED) {
    const Eigen::Matrix3d E = g->config == TwoViewGeometry::CALIBRATED
                                  ? g->E
                                  : Eigen::Matrix3d(calibration(cam2).transpose() * g->F * calibration(cam1));
    pose_from_essential(E, x1n, x2n, &R, &t);
  } else if (g->config == TwoViewGeometry::PLANAR_OR_PANORAMIC) {
    const Eigen::Matrix3d Hn = calibration(cam2).inverse() * g->H * calibration(cam1);
    pose_from_homography(Hn, x1n, x2n, &R, &t);
    if (t.norm() == 0) {
      g->config = TwoViewGeometry::PANORAMIC;
    } else {
      g->config = TwoViewGeometry::PLANAR;
      t.normalize();
    }
  } else {
    return;
  }
  g->cam2_from_cam1_q = Eigen::Quaterniond(R).normalized();
  g->cam2_from_cam1_t = t;
  g->tri_angle = 0;
  if (t.norm() == 0) return;
  const Eigen::Vector3d c2 = -R.transpose() * t;
  std::vector<double> angles;
  for (size_t i = 0; i < x1n.size(); ++i) {
    Eigen::Vector3d X;
    if (triangulate_midpoint(R, t, x1n[i], x2n[i], &X) && X(2) > 0 &&
        R.row(2).dot(X) + t(2) > std::numeric_limits<double>::epsilon())
      angles.push_back(triangulation_angle(Eigen::Vector3d::Zero(), c2, X));
  }
  if (angles.empty()) return;
  std::nth_element(angles.begin(), angles.begin() + angles.size() / 2, angles.end());
  g->tri_angle = angles[angles.size() / 2];
}

// normalized1/2: the keypoints' normalised coordinates, or null to unproject the matched ones here.
TwoViewGeometry two_view_geometry(const ColmapCamera& cam1, const Points& points1, const Points* normalized1,
                                  const ColmapCamera& cam2, const Points& points2, const Points* normalized2,
                                  const FeatureMatches& matches, bool has_prior_focal, const TwoViewOptions& opt) {
  TwoViewGeometry g;
  g.config = TwoViewGeometry::DEGENERATE;
  for (const auto& [i1, i2] : matches)
    VG_CHECK(i1 >= 0 && i1 < static_cast<int>(points1.size()) && i2 >= 0 && i2 < static_cast<int>(points2.size()),
             "estimate_two_view_geometry: match (", i1, ", ", i2, ") out of range (", points1.size(), ", ",
             points2.size(), " keypoints)");
  if (static_cast<int>(matches.size()) < opt.min_num_inliers || matches.size() < 8) return g;
  Points x1, x2, x1n, x2n;
  for (const auto& [i1, i2] : matches) {
    x1.push_back(points1[i1]);
    x2.push_back(points2[i2]);
    x1n.push_back(normalized1 ? (*normalized1)[i1] : camera_unproject(cam1, points1[i1]));
    x2n.push_back(normalized2 ? (*normalized2)[i2] : camera_unproject(cam2, points2[i2]));
  }
  const auto F = ransac_fundamental(x1, x2, opt.ransac);
  const auto H = ransac_homography(x1, x2, opt.ransac);
  ransac::Report<Eigen::Matrix3d> E;
  if (has_prior_focal) {
    RansacOptions eo = opt.ransac;
    eo.max_error = 0.5 * (camera_image_to_world_threshold(cam1, opt.ransac.max_error) +
                          camera_image_to_world_threshold(cam2, opt.ransac.max_error));
    E = ransac_essential(x1n, x2n, eo);
  }
  const int nE = E.success ? E.support.num_inliers : 0, nF = F.success ? F.support.num_inliers : 0,
            nH = H.success ? H.support.num_inliers : 0;
  const std::vector<char>* mask = nullptr;
  int best = 0;
  auto take = [&](const ransac::Report<Eigen::Matrix3d>& r, int n) {
    mask = &r.inlier_mask;
    best = n;
  };
  // COLMAP's decision: E if it explains (almost) all of F's inliers, else F; H instead when it explains
  // more than max_H_inlier_ratio of them (planar scene or pure rotation).
  if (has_prior_focal && E.success && nF > 0 && static_cast<double>(nE) / nF > opt.min_E_F_inlier_ratio &&
      nE >= opt.min_num_inliers) {
    if (nE >= nF) take(E, nE);
    else take(F, nF);
    if (static_cast<double>(nH) / nE > opt.max_H_inlier_ratio) {
      g.config = TwoViewGeometry::PLANAR_OR_PANORAMIC;
      if (nH > best) take(H, nH);
    } else {
      g.config = TwoViewGeometry::CALIBRATED;
    }
  } else if (F.success && nF >= opt.min_num_inliers) {
    take(F, nF);
    if (static_cast<double>(nH) / nF > opt.max_H_inlier_ratio) {
      g.config = TwoViewGeometry::PLANAR_OR_PANORAMIC;
      if (nH > best) take(H, nH);
    } else {
      g.config = TwoViewGeometry::UNCALIBRATED;
    }
  } else if (H.success && nH >= opt.min_num_inliers) {
    take(H, nH);
    g.config = TwoViewGeometry::PLANAR_OR_PANORAMIC;
  } else {
    g.config = TwoViewGeometry::DEGENERATE;
    return g;
  }
  if (!mask || best < opt.min_num_inliers) {
    g.config = TwoViewGeometry::DEGENERATE;
    return g;
  }
  if (E.success) g.E = E.model;
  if (F.success) g.F = F.model;
  if (H.success) g.H = H.model;
  std::vector<int> inliers;
  for (size_t i = 0; i < matches.size(); ++i)
    if ((*mask)[i]) inliers.push_back(static_cast<int>(i));
  for (int i : inliers) g.inlier_matches.push_back(matches[i]);
  if (opt.detect_watermark && detect_watermark(cam1, x1, cam2, x2, inliers, opt)) {
    g.config = TwoViewGeometry::WATERMARK;
    return g;
  }
  if (opt.compute_relative_pose) estimate_pose(cam1, cam2, gather(x1n, inliers), gather(x2n, inliers), &g);
  return g;
}

}  // namespace

TwoViewGeometry estimate_two_view_geometry(const ColmapCamera& cam1, const std::vector<Eigen::Vector2d>& points1,
                                           const ColmapCamera& cam2, const std::vector<Eigen::Vector2d>& points2,
                                           const FeatureMatches& matches, bool has_prior_focal,
                                           const TwoViewOptions& opt) {
  return two_view_geometry(cam1, points1, nullptr, cam2, points2, nullptr, matches, has_prior_focal, opt);
}

TwoViewGeometry estimate_two_view_geometry(const ColmapCamera& cam1, const std::vector<Eigen::Vector2d>& points1,
                                           const std::vector<Eigen::Vector2d>& normalized1, const ColmapCamera& cam2,
                                           const std::vector<Eigen::Vector2d>& points2,
                                           const std::vector<Eigen::Vector2d>& normalized2,
                                           const FeatureMatches& matches, bool has_prior_focal,
                                           const TwoViewOptions& opt) {
  VG_CHECK(normalized1.size() == points1.size() && normalized2.size() == points2.size(),
           "estimate_two_view_geometry: ", normalized1.size(), "/", normalized2.size(), " normalised points for ",
           points1.size(), "/", points2.size(), " keypoints");
  return two_view_geometry(cam1, points1, &normalized1, cam2, points2, &normalized2, matches, has_prior_focal, opt);
}

}  // namespace vg
