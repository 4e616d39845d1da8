#include "io/normalize.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Eigenvalues>
#include <Eigen/Geometry>

#include "core/error.h"

namespace vg {

double median(std::vector<double> v) {
  VG_CHECK(!v.empty(), "median of an empty set");
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  if (v.size() % 2) return v[m];
  const double hi = v[m];
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m));
  return 0.5 * (lo + hi);
}

Eigen::Matrix4d similarity_from_cameras(const Mat4List& c2w) {
  VG_CHECK(!c2w.empty(), "similarity_from_cameras: no cameras");
  const size_t n = c2w.size();
  // (1) Rotate the world so the mean camera up (-y in OpenCV camera axes) becomes +z.
  Eigen::Vector3d world_up = Eigen::Vector3d::Zero();
  for (const auto& m : c2w) world_up += -m.block<3, 1>(0, 1);
  world_up = (world_up / static_cast<double>(n)).normalized();
  const Eigen::Vector3d up_cam(0, -1, 0);
  const double c = up_cam.dot(world_up);
  const Eigen::Vector3d cross = world_up.cross(up_cam);
  Eigen::Matrix3d skew;
  skew << 0, -cross.z(), cross.y(), cross.z(), 0, -cross.x(), -cross.y(), cross.x(), 0;
  Eigen::Matrix3d R_align;
  if (c > -1)  // Rodrigues for the rotation taking world_up onto (0,-1,0)... as gsplat writes it
    R_align = Eigen::Matrix3d::Identity() + skew + skew * skew / (1 + c);
  else
    R_align = Eigen::Vector3d(-1, 1, 1).asDiagonal();
  // (2) Centre on the median of each camera's closest point to the origin along its view ray.
  std::vector<double> nearest[3];
  std::vector<Eigen::Vector3d> t(n);
  for (size_t i = 0; i < n; ++i) {
    const Eigen::Matrix3d R = R_align * c2w[i].topLeftCorner<3, 3>();
    const Eigen::Vector3d fwd = R.col(2);
    t[i] = R_align * c2w[i].block<3, 1>(0, 3);
    const Eigen::Vector3d p = t[i] + fwd.dot(-t[i]) * fwd;
    for (int d = 0; d < 3; ++d) nearest[d].push_back(p[d]);
  }
  const Eigen::Vector3d translate(-median(nearest[0]), -median(nearest[1]), -median(nearest[2]));
  // (3) Scale by the median camera distance.
  std::vector<double> dist(n);
  for (size_t i = 0; i < n; ++i) dist[i] = (t[i] + translate).norm();
  const double med = median(dist);
  const double scale = med > 0 ? 1.0 / med : 1.0;
  Eigen::Matrix4d T = Eigen::Matrix4d::Identity();
  T.topLeftCorner<3, 3>() = scale * R_align;
  T.topRightCorner<3, 1>() = scale * translate;
  return T;
}

Eigen::Matrix4d align_principal_axes(const std::vector<double>& pts) {
  const size_t n = pts.size() / 3;
  VG_CHECK(n >= 2, "align_principal_axes: need at least 2 points, got ", n);
  Eigen::Vector3d centroid;
  for (int d = 0; d < 3; ++d) {
    std::vector<double> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = pts[3 * i + d];
    centroid[d] = median(std::move(v));
  }
  // np.cov(rowvar=False) of the centred points (its mean is removed again, as numpy does).
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  for (size_t i = 0; i < n; ++i) mean += Eigen::Vector3d(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2]) - centroid;
  mean /= static_cast<double>(n);
  Eigen::Matrix3d cov = Eigen::Matrix3d::Zero();
  for (size_t i = 0; i < n; ++i) {
    const Eigen::Vector3d p = Eigen::Vector3d(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2]) - centroid - mean;
    cov += p * p.transpose();
  }
  cov /= static_cast<double>(n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> es(cov);
  Eigen::Matrix3d ev = es.eigenvectors().rowwise().reverse();  // descending eigenvalues: z = smallest
  if (ev.determinant() < 0) ev.col(0) *= -1;
  const Eigen::Matrix3d R = ev.transpose();
  Eigen::Matrix4d T = Eigen::Matrix4d::Identity();
  T.topLeftCorner<3, 3>() = R;
  T.topRightCorner<3, 1>() = -R * centroid;
  return T;
}

Mat4List transform_cameras(const Eigen::Matrix4d& T, const Mat4List& c2w) {
  Mat4List out;
  out.reserve(c2w.size());
  for (const auto& m : c2w) {
    Eigen::Matrix4d r = T * m;
    const double s = r.block<1, 3>(0, 0).norm();  // gsplat divides by the norm of the first row
    r.topLeftCorner<3, 3>() /= s;
    out.push_back(r);
  }
  return out;
}

void transform_points(const Eigen::Matrix4d& T, std::vector<double>& pts) {
  const Eigen::Matrix3d A = T.topLeftCorner<3, 3>();
  const Eigen::Vector3d t = T.topRightCorner<3, 1>();
  for (size_t i = 0; i + 2 < pts.size(); i += 3) {
    const Eigen::Vector3d p = A * Eigen::Vector3d(pts[i], pts[i + 1], pts[i + 2]) + t;
    for (int d = 0; d < 3; ++d) pts[i + static_cast<size_t>(d)] = p[d];
  }
}

Eigen::Matrix4d normalize_world_space(Mat4List& c2w, std::vector<double>& points) {
  const Eigen::Matrix4d T1 = similarity_from_cameras(c2w);
  c2w = transform_cameras(T1, c2w);
  transform_points(T1, points);
  if (points.size() < 6) return T1;  // gsplat's normalize() without points
  const Eigen::Matrix4d T2 = align_principal_axes(points);
  c2w = transform_cameras(T2, c2w);
  transform_points(T2, points);
  Eigen::Matrix4d T = T2 * T1;
  std::vector<double> z(points.size() / 3);
  double mean_z = 0;
  for (size_t i = 0; i < z.size(); ++i) mean_z += (z[i] = points[3 * i + 2]);
  mean_z /= static_cast<double>(z.size());
  if (median(z) > mean_z) {  // more points below: assume a ground floor; rotate 180 deg about x
    const Eigen::Matrix4d T3 = Eigen::Vector4d(1, -1, -1, 1).asDiagonal();
    c2w = transform_cameras(T3, c2w);
    transform_points(T3, points);
    T = T3 * T;
  }
  return T;
}

}  // namespace vg
