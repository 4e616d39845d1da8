#include "sfm/synthetic_scene.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include <Eigen/Geometry>

#include "core/error.h"

namespace vg {
namespace {

constexpr double kPi = 3.14159265358979323846;

ColmapCamera true_camera(const SyntheticOptions& opt, uint32_t id) {
  const double f = opt.focal_factor * std::max(opt.width, opt.height);
  const double cx = opt.width / 2.0 + opt.principal_point_offset.x();
  const double cy = opt.height / 2.0 + opt.principal_point_offset.y();
  ColmapCamera c{id, opt.camera_model, opt.width, opt.height, {}};
  if (opt.camera_model == "SIMPLE_PINHOLE") c.params = {f, cx, cy};
  else if (opt.camera_model == "PINHOLE") c.params = {f, f * 1.002, cx, cy};
  else if (opt.camera_model == "SIMPLE_RADIAL") c.params = {f, cx, cy, opt.radial};
  else if (opt.camera_model == "RADIAL") c.params = {f, cx, cy, opt.radial, 0};
  else if (opt.camera_model == "OPENCV") c.params = {f, f * 1.002, cx, cy, opt.radial, 0, 0, 0};
  else VG_FAIL("synthetic scene: unsupported camera model '", opt.camera_model, "'");
  return c;
}

// What the mapper starts from: the principal point at the image centre; when the focal is unknown (prior_focal
// false), also COLMAP's focal guess and no distortion.
ColmapCamera input_camera(const ColmapCamera& truth, bool prior_focal) {
  ColmapCamera c = truth;
  const int nf = (c.model == "PINHOLE" || c.model == "OPENCV") ? 2 : 1;
  c.params[nf] = truth.width / 2.0;
  c.params[nf + 1] = truth.height / 2.0;
  if (prior_focal) return c;
  const double f = 1.2 * std::max(truth.width, truth.height);
  for (int k = 0; k < nf; ++k) c.params[k] = f;
  for (size_t k = nf + 2; k < c.params.size(); ++k) c.params[k] = 0;
  return c;
}

struct Pose {
  Eigen::Matrix3d R;  // cam_from_world
  Eigen::Vector3d t;
  Eigen::Vector3d center() const { return -R.transpose() * t; }
};

// Camera at `center` looking at `target`; x right, y down, z forward (COLMAP convention), world z up.
Pose look_at(const Eigen::Vector3d& center, const Eigen::Vector3d& target) {
  Eigen::Vector3d f = (target - center).normalized();
  Eigen::Vector3d x = f.cross(Eigen::Vector3d::UnitZ()).normalized();
  Eigen::Vector3d y = f.cross(x);
  Pose p;
  p.R.row(0) = x.transpose();
  p.R.row(1) = y.transpose();
  p.R.row(2) = f.transpose();
  p.t = -p.R * center;
  return p;
}

struct Cluster {
  std::vector<int> images, points;
  Eigen::Vector3d offset;
};

std::vector<Cluster> make_clusters(const SyntheticOptions& opt) {
  std::vector<Cluster> cl(opt.num_clusters);
  for (int i = 0; i < opt.num_images; ++i) cl[i * opt.num_clusters / opt.num_images].images.push_back(i);
  for (int p = 0; p < opt.num_points; ++p) cl[static_cast<int64_t>(p) * opt.num_clusters / opt.num_points].points.push_back(p);
  for (int c = 0; c < opt.num_clusters; ++c) cl[c].offset = Eigen::Vector3d(c * 10.0 * opt.ring_radius, 0, 0);
  return cl;
}

void check_options(const SyntheticOptions& o) {
  VG_CHECK(o.num_clusters >= 1, "synthetic scene: num_clusters must be >= 1");
  VG_CHECK(o.num_images >= 2 * o.num_clusters, "synthetic scene: need at least 2 images per cluster");
  VG_CHECK(o.num_points >= o.num_clusters, "synthetic scene: need at least one point per cluster");
  VG_CHECK(o.width > 0 && o.height > 0, "synthetic scene: bad image size ", o.width, "x", o.height);
  VG_CHECK(o.outlier_ratio >= 0 && o.outlier_ratio < 1, "synthetic scene: outlier_ratio must be in [0, 1)");
  VG_CHECK(o.ring_radius > o.scene_radius, "synthetic scene: the camera ring must lie outside the points");
}

// One image's keypoints: noisy projections of the visible points plus distractors, shuffled.
struct ImageObs {
  std::vector<Eigen::Vector2d> xy;
  std::vector<int64_t> point;  // point index or -1
};

ImageObs observe(const SyntheticOptions& opt, const ColmapCamera& cam, const Pose& pose,
                 const std::vector<Eigen::Vector3d>& X, const std::vector<Eigen::Vector3d>& normals,
                 const std::vector<int>& candidates, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, opt.noise_px);
  const double cos_max = std::cos(opt.max_view_angle_deg * kPi / 180);
  ImageObs o;
  for (int p : candidates) {
    Eigen::Vector3d pc = pose.R * X[p] + pose.t;
    if (pc.z() < 0.1) continue;
    Eigen::Vector3d to_cam = (pose.center() - X[p]).normalized();
    if (normals[p].dot(to_cam) < cos_max) continue;
    Eigen::Vector2d px = synthetic_project(cam, pc);
    if (px.x() < 0 || px.y() < 0 || px.x() >= cam.width || px.y() >= cam.height) continue;
    o.xy.push_back(px + Eigen::Vector2d(noise(rng), noise(rng)));
    o.point.push_back(p);
  }
  std::uniform_real_distribution<double> ux(0, cam.width), uy(0, cam.height);
  const int nd = static_cast<int>(std::lround(opt.distractor_ratio * o.xy.size()));
  for (int k = 0; k < nd; ++k) {
    o.xy.emplace_back(ux(rng), uy(rng));
    o.point.push_back(-1);
  }
  std::vector<int> perm(o.xy.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  ImageObs s;
  for (int k : perm) {
    s.xy.push_back(o.xy[k]);
    s.point.push_back(o.point[k]);
  }
  return s;
}

// Verified matches of a pair: every common point, with a fraction of them re-paired wrongly (a cyclic
// shift of their partners in image j keeps the matches one-to-one).
FeatureMatches pair_matches(const SyntheticOptions& opt, const ImageObs& a, const ImageObs& b, std::mt19937_64& rng,
                            int* num_correct) {
  std::map<int64_t, int> feat_b;
  for (size_t k = 0; k < b.point.size(); ++k)
    if (b.point[k] >= 0) feat_b[b.point[k]] = static_cast<int>(k);
  FeatureMatches m;
  for (size_t k = 0; k < a.point.size(); ++k) {
    if (a.point[k] < 0) continue;
    auto it = feat_b.find(a.point[k]);
    if (it != feat_b.end()) m.push_back({static_cast<int>(k), it->second});
  }
  *num_correct = static_cast<int>(m.size());
  if (static_cast<int>(m.size()) < opt.min_pair_matches) return m;
  std::shuffle(m.begin(), m.end(), rng);
  const int n_out = static_cast<int>(std::lround(opt.outlier_ratio * m.size()));
  if (n_out >= 2) {
    const int first = m[0].second;
    for (int k = 0; k + 1 < n_out; ++k) m[k].second = m[k + 1].second;
    m[n_out - 1].second = first;
    *num_correct -= n_out;
  }
  std::sort(m.begin(), m.end());
  return m;
}

double median_tri_angle(const FeatureMatches& m, const ImageObs& a, const ImageObs& b, const Pose& pa,
                        const Pose& pb, const std::vector<Eigen::Vector3d>& X) {
  std::vector<double> ang;
  for (auto [fa, fb] : m) {
    if (a.point[fa] < 0 || a.point[fa] != b.point[fb]) continue;
    const Eigen::Vector3d& x = X[a.point[fa]];
    double c = (pa.center() - x).normalized().dot((pb.center() - x).normalized());
    ang.push_back(std::acos(std::clamp(c, -1.0, 1.0)));
  }
  if (ang.empty()) return 0;
  std::nth_element(ang.begin(), ang.begin() + ang.size() / 2, ang.end());
  return ang[ang.size() / 2];
}

Eigen::Matrix3d skew(const Eigen::Vector3d& v) {
  Eigen::Matrix3d S;
  S << 0, -v.z(), v.y(), v.z(), 0, -v.x(), -v.y(), v.x(), 0;
  return S;
}

}  // namespace

Eigen::Vector2d synthetic_project(const ColmapCamera& cam, const Eigen::Vector3d& p_cam) {
  const std::vector<double>& k = cam.params;
  double u = p_cam.x() / p_cam.z(), v = p_cam.y() / p_cam.z();
  const double r2 = u * u + v * v;
  double fx, fy, cx, cy;
  if (cam.model == "SIMPLE_PINHOLE" || cam.model == "SIMPLE_RADIAL" || cam.model == "RADIAL") {
    fx = fy = k[0], cx = k[1], cy = k[2];
    double radial = 0;
    if (cam.model == "SIMPLE_RADIAL") radial = k[3] * r2;
    if (cam.model == "RADIAL") radial = k[3] * r2 + k[4] * r2 * r2;
    u += u * radial, v += v * radial;
  } else if (cam.model == "PINHOLE" || cam.model == "OPENCV") {
    fx = k[0], fy = k[1], cx = k[2], cy = k[3];
    if (cam.model == "OPENCV") {
      const double radial = k[4] * r2 + k[5] * r2 * r2, p1 = k[6], p2 = k[7];
      const double du = u * radial + 2 * p1 * u * v + p2 * (r2 + 2 * u * u);
      const double dv = v * radial + 2 * p2 * u * v + p1 * (r2 + 2 * v * v);
      u += du, v += dv;
    }
  } else {
    VG_FAIL("synthetic_project: unsupported camera model '", cam.model, "'");
  }
  return {fx * u + cx, fy * v + cy};
}

SyntheticScene make_synthetic_scene(const SyntheticOptions& opt) {
  check_options(opt);
  std::mt19937_64 rng(opt.seed);
  std::uniform_real_distribution<double> u01(0, 1);
  std::normal_distribution<double> g(0, 1);
  const std::vector<Cluster> clusters = make_clusters(opt);

  // Points uniform in the ball of each cluster, normals outward (random for points near the centre).
  std::vector<Eigen::Vector3d> X(opt.num_points), normals(opt.num_points);
  std::vector<std::array<uint8_t, 3>> rgb(opt.num_points);
  for (const Cluster& c : clusters) {
    for (int p : c.points) {
      Eigen::Vector3d d(g(rng), g(rng), g(rng));
      d.normalize();
      const double r = opt.scene_radius * std::cbrt(u01(rng));
      X[p] = c.offset + r * d;
      Eigen::Vector3d jitter(g(rng), g(rng), g(rng));
      normals[p] = (d + 0.3 * jitter).normalized();
      for (auto& ch : rgb[p]) ch = static_cast<uint8_t>(rng() % 256);
    }
  }

  SyntheticScene s;
  s.scene_size = 2 * opt.ring_radius;
  s.cluster_of_image.resize(opt.num_images);
  std::vector<Pose> poses(opt.num_images);
  std::vector<ImageObs> obs(opt.num_images);
  for (int ci = 0; ci < opt.num_clusters; ++ci) {
    const Cluster& c = clusters[ci];
    const int n = static_cast<int>(c.images.size());
    for (int k = 0; k < n; ++k) {
      const int i = c.images[k];
      s.cluster_of_image[i] = ci;
      const double step = opt.arc_deg >= 360 ? 360.0 / n : opt.arc_deg / std::max(n - 1, 1);
      const double theta = (k * step + 5 * (u01(rng) - 0.5)) * kPi / 180;
      Eigen::Vector3d center = c.offset + Eigen::Vector3d(opt.ring_radius * std::cos(theta),
                                                          opt.ring_radius * std::sin(theta),
                                                          opt.ring_radius * 0.2 * (2 * u01(rng) - 1));
      Eigen::Vector3d target = c.offset + 0.1 * opt.scene_radius * Eigen::Vector3d(g(rng), g(rng), g(rng));
      poses[i] = look_at(center, target);
      const uint32_t cam_id = opt.shared_camera ? 1u : static_cast<uint32_t>(i + 1);
      const ColmapCamera cam = true_camera(opt, cam_id);
      obs[i] = observe(opt, cam, poses[i], X, normals, c.points, rng);

      const uint32_t id = static_cast<uint32_t>(i + 1);
      s.truth.cameras[cam_id] = cam;
      s.input.cameras[cam_id] = input_camera(cam, opt.prior_focal);
      s.input.camera_has_prior_focal[cam_id] = opt.prior_focal;
      MapperImage mi;
      mi.name = "synthetic_" + std::to_string(i) + ".png";
      mi.camera_id = cam_id;
      mi.keypoints = obs[i].xy;
      for (int64_t p : obs[i].point)
        mi.colors.push_back(p >= 0 ? rgb[p] : std::array<uint8_t, 3>{uint8_t(rng() % 256), 0, 0});
      s.input.images.push_back(std::move(mi));

      ColmapImage im;
      im.id = id;
      im.camera_id = cam_id;
      im.name = s.input.images.back().name;
      Eigen::Quaterniond q(poses[i].R);
      im.qvec = {q.w(), q.x(), q.y(), q.z()};
      im.tvec = {poses[i].t.x(), poses[i].t.y(), poses[i].t.z()};
      for (size_t f = 0; f < obs[i].xy.size(); ++f) {
        im.xys.push_back(obs[i].xy[f].x());
        im.xys.push_back(obs[i].xy[f].y());
        im.point3D_ids.push_back(obs[i].point[f] >= 0 ? obs[i].point[f] + 1 : -1);
      }
      s.truth.images[id] = std::move(im);
    }
  }

  for (int p = 0; p < opt.num_points; ++p) {
    ColmapPoint3D pt;
    pt.id = static_cast<uint64_t>(p + 1);
    pt.xyz = {X[p].x(), X[p].y(), X[p].z()};
    pt.rgb = rgb[p];
    s.truth.points[pt.id] = pt;
  }
  for (const auto& [id, im] : s.truth.images)
    for (size_t f = 0; f < im.point3D_ids.size(); ++f)
      if (im.point3D_ids[f] > 0) s.truth.points[im.point3D_ids[f]].track.push_back({id, static_cast<uint32_t>(f)});

  for (const Cluster& c : clusters) {
    for (size_t a = 0; a < c.images.size(); ++a) {
      for (size_t b = a + 1; b < c.images.size(); ++b) {
        const int i = c.images[a], j = c.images[b];
        int correct = 0;
        FeatureMatches m = pair_matches(opt, obs[i], obs[j], rng, &correct);
        if (static_cast<int>(m.size()) < opt.min_pair_matches) continue;
        TwoViewGeometry tv;
        tv.config = opt.prior_focal ? TwoViewGeometry::CALIBRATED : TwoViewGeometry::UNCALIBRATED;
        const Eigen::Matrix3d R21 = poses[j].R * poses[i].R.transpose();
        const Eigen::Vector3d t21 = (poses[j].t - R21 * poses[i].t).normalized();
        tv.cam2_from_cam1_q = Eigen::Quaterniond(R21);
        tv.cam2_from_cam1_t = t21;
        tv.E = skew(t21) * R21;
        tv.inlier_matches = std::move(m);
        tv.tri_angle = median_tri_angle(tv.inlier_matches, obs[i], obs[j], poses[i], poses[j], X);
        s.input.pairs[{i, j}] = std::move(tv);
      }
    }
  }
  return s;
}

double wrong_observation_fraction(const ColmapModel& model, const SyntheticScene& s) {
  size_t total = 0, wrong = 0;
  for (const auto& [pid, p] : model.points) {
    std::map<int64_t, int> votes;
    for (auto [iid, f] : p.track) ++votes[s.truth.images.at(iid).point3D_ids[f]];
    int best = 0;
    for (auto [id, n] : votes) best = std::max(best, id >= 0 ? n : 0);
    total += p.track.size();
    wrong += p.track.size() - static_cast<size_t>(best);
  }
  return total ? static_cast<double>(wrong) / static_cast<double>(total) : 0;
}

}  // namespace vg
