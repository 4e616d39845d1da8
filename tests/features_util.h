// Helpers for the feature tests (sift_test, matching_test, ops/features_ops): synthetic images, the
// Strecha ground-truth cameras, and keypoint-set comparison.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "features/sift.h"
#include "io/image.h"
#include "test_util.h"

namespace vg::test {

// Grey image of Gaussian blobs (bright on dark) at integer-centred positions (cx, cy) with std sigma.
struct Blob {
  float cx, cy, sigma;
};
inline Image blob_image(int w, int h, const std::vector<Blob>& blobs) {
  Image img{w, h, 1, std::vector<float>(static_cast<size_t>(w) * h, 0.1f)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (const Blob& b : blobs) {
        float d2 = (x - b.cx) * (x - b.cx) + (y - b.cy) * (y - b.cy);
        img.at(y, x, 0) += 0.8f * std::exp(-d2 / (2 * b.sigma * b.sigma));
      }
  return img;
}

// A deterministic textured grey image: random blobs of many sizes and contrasts plus a few gratings.
inline Image textured_image(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  Image img{w, h, 1, std::vector<float>(static_cast<size_t>(w) * h, 0.5f)};
  std::vector<std::array<float, 4>> blobs;
  for (int i = 0; i < w * h / 150; ++i) blobs.push_back({u(rng) * w, u(rng) * h, 1.5f + 8 * u(rng) * u(rng), u(rng) - 0.5f});
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float v = 0.5f + 0.05f * std::sin(0.07f * x + 0.03f * y);
      for (const auto& b : blobs) {
        float d2 = (x - b[0]) * (x - b[0]) + (y - b[1]) * (y - b[1]);
        if (d2 < 16 * b[2] * b[2]) v += 0.6f * b[3] * std::exp(-d2 / (2 * b[2] * b[2]));
      }
      img.at(y, x, 0) = std::min(1.0f, std::max(0.0f, v));
    }
  return img;
}

// Strecha .camera file: K, distortion row, R (camera to world), t (camera centre), W H.
struct StrechaCamera {
  Eigen::Matrix3d K, R;
  Eigen::Vector3d C;
};
inline StrechaCamera read_strecha(const std::filesystem::path& p) {
  std::ifstream in(p);
  StrechaCamera c;
  double d[3];
  for (int i = 0; i < 9; ++i) in >> c.K(i / 3, i % 3);
  in >> d[0] >> d[1] >> d[2];
  for (int i = 0; i < 9; ++i) in >> c.R(i / 3, i % 3);
  in >> c.C[0] >> c.C[1] >> c.C[2];
  return c;
}

inline Eigen::Matrix3d skew(const Eigen::Vector3d& v) {
  Eigen::Matrix3d m;
  m << 0, -v.z(), v.y(), v.z(), 0, -v.x(), -v.y(), v.x(), 0;
  return m;
}

// Fundamental matrix x2^T F x1 = 0 from two Strecha cameras (world-to-camera: R^T, -R^T C).
inline Eigen::Matrix3d fundamental_from(const StrechaCamera& a, const StrechaCamera& b) {
  Eigen::Matrix3d R1 = a.R.transpose(), R2 = b.R.transpose();
  Eigen::Vector3d t1 = -R1 * a.C, t2 = -R2 * b.C;
  Eigen::Matrix3d R = R2 * R1.transpose();
  Eigen::Vector3d t = t2 - R * t1;
  return b.K.inverse().transpose() * skew(t) * R * a.K.inverse();
}

// Distance of x2 from the epipolar line F x1 (pixels); points in the pixel-centre = integer convention.
inline double epipolar_distance(const Eigen::Matrix3d& F, Eigen::Vector2d x1, Eigen::Vector2d x2) {
  Eigen::Vector3d l = F * x1.homogeneous();
  return std::abs(l.dot(x2.homogeneous())) / std::max(1e-12, l.head<2>().norm());
}

// Dot product of two uint8 RootSIFT descriptors scaled to [0, 1] (norm 512 each).
inline double descriptor_dot(const SiftDescriptors& a, int i, const SiftDescriptors& b, int j) {
  double s = 0, na = 0, nb = 0;
  for (int k = 0; k < 128; ++k) {
    s += double(a(i, k)) * b(j, k);
    na += double(a(i, k)) * a(i, k);
    nb += double(b(j, k)) * b(j, k);
  }
  return s / std::max(1e-12, std::sqrt(na * nb));
}

// For the first n keypoints of `got`: the fraction with a keypoint of `ref` within max_px, scale within
// 10% and orientation within 0.2 rad, and the fraction of those pairs whose descriptors have dot > min_dot.
struct KeypointAgreement {
  double found = 0, desc_ok = 0;
  int compared = 0;
};
inline KeypointAgreement compare_features(const FeatureSet& got, const FeatureSet& ref, int n, double max_px,
                                          double min_dot) {
  KeypointAgreement r;
  r.compared = std::min<int>(n, static_cast<int>(got.keypoints.size()));
  int found = 0, ok = 0;
  for (int i = 0; i < r.compared; ++i) {
    const Keypoint& a = got.keypoints[i];
    int best = -1;
    double best_d = max_px;
    for (size_t j = 0; j < ref.keypoints.size(); ++j) {
      const Keypoint& b = ref.keypoints[j];
      double d = std::hypot(a.x - b.x, a.y - b.y);
      double dang = std::abs(std::remainder(double(a.orientation) - b.orientation, 2 * M_PI));
      if (d <= best_d && std::abs(a.scale / b.scale - 1) < 0.1 && dang < 0.2) best = static_cast<int>(j), best_d = d;
    }
    if (best < 0) continue;
    ++found;
    if (descriptor_dot(got.descriptors, i, ref.descriptors, best) > min_dot) ++ok;
  }
  r.found = r.compared ? double(found) / r.compared : 0;
  r.desc_ok = found ? double(ok) / found : 0;
  return r;
}

}  // namespace vg::test
