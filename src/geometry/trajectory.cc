#include "geometry/trajectory.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "core/error.h"

namespace vg::traj {

namespace {

using Vec9 = Eigen::Matrix<double, 9, 1>;

// B-spline of degree k with knots t (FITPACK layout: k+1 repeated end knots).
struct BSpline {
  int k = 0;
  std::vector<double> t;

  int n_coeffs() const { return static_cast<int>(t.size()) - k - 1; }
  // Knot span mu with t[mu] <= u < t[mu+1], clamped to [k, n_coeffs - 1] (u = 1 uses the last span).
  int span(double u) const {
    int mu = k;
    while (mu + 1 < n_coeffs() && t[mu + 1] <= u) ++mu;
    return mu;
  }
  // The k+1 non-zero basis functions at u: N_{mu-k..mu} (Cox-de Boor, "The NURBS Book" A2.2).
  std::vector<double> basis(int mu, double u) const {
    std::vector<double> N(k + 1, 0.0), left(k + 1), right(k + 1);
    N[0] = 1;
    for (int j = 1; j <= k; ++j) {
      left[j] = u - t[mu + 1 - j];
      right[j] = t[mu + j] - u;
      double saved = 0;
      for (int r = 0; r < j; ++r) {
        const double den = right[r + 1] + left[j - r];
        const double tmp = den != 0 ? N[r] / den : 0.0;
        N[r] = saved + right[r + 1] * tmp;
        saved = left[j - r] * tmp;
      }
      N[j] = saved;
    }
    return N;
  }
};

// Interpolating knots of FITPACK curfit / parcur for s = 0: interior knots at the parameters
// (odd k) or midway between them (even k).
BSpline interpolation_knots(const std::vector<double>& u, int k) {
  const int m = static_cast<int>(u.size());
  BSpline s;
  s.k = k;
  s.t.assign(static_cast<size_t>(m + k + 1), 0.0);
  for (int i = 0; i <= k; ++i) s.t[m + i] = u.back();
  for (int i = 0; i <= k; ++i) s.t[i] = u.front();
  for (int l = 0; l < m - k - 1; ++l) {
    const int j = k / 2 + 1 + l;
    s.t[k + 1 + l] = (k % 2 == 1) ? u[j] : 0.5 * (u[j] + u[j - 1]);
  }
  return s;
}

// Chord-length parameters in [0,1] (scipy splprep's default u).
std::vector<double> chord_parameters(const std::vector<Vec9>& pts) {
  std::vector<double> u(pts.size(), 0.0);
  for (size_t i = 1; i < pts.size(); ++i) u[i] = u[i - 1] + (pts[i] - pts[i - 1]).norm();
  for (double& x : u) x /= u.back();
  return u;
}

}  // namespace

Pose viewmatrix(const Eigen::Vector3d& lookdir, const Eigen::Vector3d& up, const Eigen::Vector3d& position) {
  const Eigen::Vector3d z = lookdir.normalized();
  const Eigen::Vector3d x = up.cross(z).normalized();
  const Eigen::Vector3d y = z.cross(x).normalized();
  Pose m;
  m << x, y, z, position;
  return m;
}

Eigen::Vector3d focus_point(const std::vector<Pose>& poses) {
  Eigen::Matrix3d mean_mtm = Eigen::Matrix3d::Zero();
  Eigen::Vector3d mean_mtm_o = Eigen::Vector3d::Zero();
  for (const Pose& p : poses) {
    const Eigen::Vector3d d = p.col(2);
    const Eigen::Matrix3d m = Eigen::Matrix3d::Identity() - d * d.transpose();  // projects out the axis
    const Eigen::Matrix3d mtm = m.transpose() * m;
    mean_mtm += mtm;
    mean_mtm_o += mtm * p.col(3);
  }
  const Eigen::FullPivLU<Eigen::Matrix3d> lu(mean_mtm);
  VG_CHECK(lu.rank() == 3, "no focus point: the cameras' optical axes are parallel");
  return lu.solve(mean_mtm_o);  // the 1/n of both means cancels
}

Pose average_pose(const std::vector<Pose>& poses) {
  Eigen::Vector3d position = Eigen::Vector3d::Zero(), z = Eigen::Vector3d::Zero(), up = Eigen::Vector3d::Zero();
  for (const Pose& p : poses) {
    position += p.col(3);
    z += p.col(2);
    up += p.col(1);
  }
  const double n = static_cast<double>(poses.size());
  return viewmatrix(z / n, up / n, position / n);
}

Eigen::Vector3d percentile(const std::vector<Eigen::Vector3d>& v, double q) {
  VG_CHECK(!v.empty(), "percentile of no values");
  Eigen::Vector3d out;
  std::vector<double> c(v.size());
  for (int d = 0; d < 3; ++d) {
    for (size_t i = 0; i < v.size(); ++i) c[i] = v[i][d];
    std::sort(c.begin(), c.end());
    const double rank = q / 100.0 * static_cast<double>(c.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(rank));
    const size_t hi = std::min(lo + 1, c.size() - 1);
    out[d] = c[lo] + (rank - static_cast<double>(lo)) * (c[hi] - c[lo]);
  }
  return out;
}

std::vector<Pose> interpolated_path(const std::vector<Pose>& poses, int n_interp, int degree, double rot_weight) {
  // Consecutive duplicates would give equal spline parameters (a singular system): keep one of each.
  std::vector<Vec9> pts;
  for (const Pose& p : poses) {
    Vec9 v;
    v << p.col(3), p.col(3) - rot_weight * p.col(2), p.col(3) + rot_weight * p.col(1);
    if (pts.empty() || (v - pts.back()).norm() > 1e-12) pts.push_back(v);
  }
  const int m = static_cast<int>(pts.size());
  if (m < 2) return std::vector<Pose>(poses.begin(), poses.begin() + std::min<size_t>(poses.size(), 1));
  const int k = std::min(degree, m - 1);
  const std::vector<double> u = chord_parameters(pts);
  const BSpline s = interpolation_knots(u, k);

  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(m, m), X(m, 9);
  for (int i = 0; i < m; ++i) {
    const int mu = s.span(u[i]);
    const std::vector<double> N = s.basis(mu, u[i]);
    for (int r = 0; r <= k; ++r) A(i, mu - k + r) = N[r];
    X.row(i) = pts[i].transpose();
  }
  const Eigen::MatrixXd C = A.partialPivLu().solve(X);  // control points, one row each

  const int n_out = n_interp * (m - 1);
  std::vector<Pose> out;
  out.reserve(static_cast<size_t>(n_out));
  for (int j = 0; j < n_out; ++j) {
    const double uj = static_cast<double>(j) / n_out;  // np.linspace(0, 1, n, endpoint=False)
    const int mu = s.span(uj);
    const std::vector<double> N = s.basis(mu, uj);
    Vec9 v = Vec9::Zero();
    for (int r = 0; r <= k; ++r) v += N[r] * C.row(mu - k + r).transpose();
    const Eigen::Vector3d p = v.segment<3>(0), look = v.segment<3>(3), up = v.segment<3>(6);
    out.push_back(viewmatrix(p - look, up - p, p));
  }
  return out;
}

std::vector<Pose> ellipse_path_z(const std::vector<Pose>& poses, int n_frames, double variation, double phase,
                                 double height) {
  VG_CHECK(!poses.empty(), "ellipse path: no camera poses");
  const Eigen::Vector3d center = focus_point(poses);
  const Eigen::Vector3d offset(center.x(), center.y(), height);
  std::vector<Eigen::Vector3d> pos, dev;
  for (const Pose& p : poses) {
    pos.push_back(p.col(3));
    dev.push_back((p.col(3) - offset).cwiseAbs());
  }
  const Eigen::Vector3d sc = percentile(dev, 90);
  const Eigen::Vector3d low = offset - sc, high = offset + sc;
  const Eigen::Vector3d z_low = percentile(pos, 10), z_high = percentile(pos, 90);

  Eigen::Vector3d avg_up = Eigen::Vector3d::Zero();
  for (const Pose& p : poses) avg_up += p.col(1);
  avg_up.normalize();
  int axis = 0;
  avg_up.cwiseAbs().maxCoeff(&axis);
  const Eigen::Vector3d up = Eigen::Vector3d::Unit(axis) * (avg_up[axis] < 0 ? -1.0 : 1.0);

  std::vector<Pose> out;
  for (int i = 0; i < n_frames; ++i) {  // linspace(0, 2 pi, n + 1) without the repeated end
    const double th = 2.0 * M_PI * i / n_frames;
    const Eigen::Vector3d p(low.x() + (high - low).x() * (std::cos(th) * 0.5 + 0.5),
                            low.y() + (high - low).y() * (std::sin(th) * 0.5 + 0.5),
                            variation * (z_low.z() + (z_high - z_low).z() *
                                                         (std::cos(th + 2.0 * M_PI * phase) * 0.5 + 0.5)) +
                                height);
    out.push_back(viewmatrix(center - p, up, p));
  }
  return out;
}

std::vector<Pose> spiral_path(const std::vector<Pose>& poses, double near_bound, double far_bound, int n_frames,
                              int n_rots, double zrate, double spiral_scale_f, double spiral_scale_r,
                              double focus_distance) {
  VG_CHECK(!poses.empty(), "spiral path: no camera poses");
  VG_CHECK(near_bound > 0 && far_bound > 0, "spiral path: bounds must be positive");
  // Focus depth: a weighted mean of the bounds in disparity space.
  const double focal = spiral_scale_f / ((1.0 - focus_distance) / near_bound + focus_distance / far_bound);
  std::vector<Eigen::Vector3d> abs_pos;
  Eigen::Vector3d up = Eigen::Vector3d::Zero();
  for (const Pose& p : poses) {
    abs_pos.push_back(p.col(3).cwiseAbs());
    up += p.col(1);
  }
  up /= static_cast<double>(poses.size());
  const Eigen::Vector3d radii = percentile(abs_pos, 90) * spiral_scale_r;
  const Pose c2w = average_pose(poses);
  const Eigen::Vector3d lookat = c2w * Eigen::Vector4d(0, 0, -focal, 1);

  std::vector<Pose> out;
  for (int i = 0; i < n_frames; ++i) {  // linspace(0, 2 pi n_rots, n_frames, endpoint=False)
    const double th = 2.0 * M_PI * n_rots * i / n_frames;
    const Eigen::Vector4d t(radii.x() * std::cos(th), -radii.y() * std::sin(th), -radii.z() * std::sin(th * zrate), 1);
    const Eigen::Vector3d position = c2w * t;
    out.push_back(viewmatrix(position - lookat, up, position));
  }
  return out;
}

}  // namespace vg::traj
