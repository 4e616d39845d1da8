// SIFT extraction: blob centres and scales, options (truncation, upright, downscale), rotation invariance,
// agreement with OpenCV's SIFT and with COLMAP 3.8's keypoints (a committed fixture), and match precision on two
// Strecha photos against the ground-truth geometry.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "features/matching.h"
#include "features/sift.h"
#include "features_util.h"

#ifdef VGSPLAT_HAS_OPENCV
#include <opencv2/features2d.hpp>
#endif

namespace vg::test {
namespace {

std::filesystem::path fountain(const char* name) { return data_dir() / "strecha/fountain-P11/images" / name; }

// Nearest keypoint to (x, y) (COLMAP convention) among those of scale within [lo, hi].
const Keypoint* nearest(const FeatureSet& f, float x, float y, float lo, float hi) {
  const Keypoint* best = nullptr;
  double bd = 1e30;
  for (const Keypoint& k : f.keypoints) {
    double d = std::hypot(k.x - x, k.y - y);
    if (k.scale >= lo && k.scale <= hi && d < bd) bd = d, best = &k;
  }
  return best;
}

TEST(Sift, BlobsAtCentresWithTheirScale) {
  const std::vector<Blob> blobs = {{40, 50, 3}, {130, 60, 5}, {60, 160, 8}, {170, 170, 4}};
  for (int up : {1, 2}) {  // up = 2: a 2x larger image extracted at max_image_size 256 (downscale path)
    std::vector<Blob> scaled;
    for (Blob b : blobs) scaled.push_back({b.cx * up + (up - 1) * 0.5f, b.cy * up + (up - 1) * 0.5f, b.sigma * up});
    Image img = blob_image(256 * up, 256 * up, scaled);
    SiftOptions opt;
    opt.max_image_size = 256;
    FeatureSet f = extract_sift(img, opt);
    ASSERT_EQ(f.descriptors.rows(), static_cast<Eigen::Index>(f.keypoints.size()));
    for (const Blob& b : scaled) {
      // A Gaussian blob of std s maximises the scale-normalised Laplacian at sigma = s.
      const Keypoint* k = nearest(f, b.cx + 0.5f, b.cy + 0.5f, 0.7f * b.sigma, 1.4f * b.sigma);
      ASSERT_NE(k, nullptr) << "no keypoint for blob at " << b.cx << "," << b.cy << " up=" << up;
      EXPECT_LT(std::hypot(k->x - b.cx - 0.5f, k->y - b.cy - 0.5f), 0.5 * up) << "blob " << b.cx << "," << b.cy;
      EXPECT_NEAR(k->scale / b.sigma, 1.0, 0.2) << "blob " << b.cx << "," << b.cy;
    }
  }
}

TEST(Sift, SortedByScaleWholeLevelsUprightQuantised) {
  Image img = textured_image(200, 150, 3);
  SiftOptions opt;
  FeatureSet all = extract_sift(img, opt);
  ASSERT_GT(all.keypoints.size(), 150u);
  for (size_t i = 1; i < all.keypoints.size(); ++i) EXPECT_GE(all.keypoints[i - 1].scale, all.keypoints[i].scale);
  for (Eigen::Index i = 0; i < all.descriptors.rows(); ++i) {  // RootSIFT x512: squared norm ~ 512^2
    double n2 = all.descriptors.row(i).cast<double>().squaredNorm();
    EXPECT_NEAR(std::sqrt(n2), 512.0, 12.0);
  }
  opt.max_num_features = 100;  // COLMAP: the coarsest whole DoG levels holding more than 100 keypoints
  FeatureSet some = extract_sift(img, opt);
  ASSERT_GT(some.keypoints.size(), 100u);
  ASSERT_LT(some.keypoints.size(), all.keypoints.size());
  EXPECT_EQ(some.keypoints[0].scale, all.keypoints[0].scale);
  EXPECT_GT(some.keypoints.back().scale, all.keypoints.back().scale);
  opt.upright = true;
  for (const Keypoint& k : extract_sift(img, opt).keypoints) EXPECT_EQ(k.orientation, 0.0f);
}

// tests/data/sift_synthetic.jpg (a synthetic 480 x 360 JPEG) and what COLMAP 3.8's feature_extractor (CPU SIFT,
// default options) found in it: keypoints (4 decimals), orientations and descriptors. From the SfM stage's decode
// (JpegDecode::kFast, as COLMAP's FreeImage) vgsplat finds the same keypoints with the same orientations (VLFeat's
// fast atan2 / sqrt / exp reproduced) and the same descriptors up to the last quantisation step; libjpeg's accurate
// decode moves most keypoints.
struct ColmapFeature {
  float x, y, angle;
  uint8_t desc[128];  // COLMAP's (UBC) bin order
};
std::vector<ColmapFeature> colmap_fixture() {
  std::vector<ColmapFeature> ref;
  std::ifstream in(source_dir() / "tests/data/sift_synthetic_colmap_keypoints.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    ColmapFeature f{};
    ss >> f.x >> f.y >> f.angle;
    for (uint8_t& v : f.desc) {
      int b = 0;
      ss >> b;
      v = static_cast<uint8_t>(b);
    }
    if (ss) ref.push_back(f);
  }
  return ref;
}

TEST(Sift, ReproducesColmapFeaturesFromTheSameJpegDecode) {
  const std::vector<ColmapFeature> ref = colmap_fixture();
  ASSERT_EQ(ref.size(), 602u);
  const auto jpg = source_dir() / "tests/data/sift_synthetic.jpg";
  const FeatureSet f = extract_sift(read_image(jpg, JpegDecode::kFast), SiftOptions{});
  EXPECT_EQ(f.keypoints.size(), ref.size());
  const int ubc[8] = {0, 7, 6, 5, 4, 3, 2, 1};  // VLFeat orientation bin k is UBC bin ubc[k]
  int found = 0, identical = 0, within1 = 0;
  for (const ColmapFeature& c : ref) {
    int diff = -1;  // over our keypoints at this position and orientation (a few differ only in scale)
    for (size_t i = 0; i < f.keypoints.size(); ++i) {
      const Keypoint& k = f.keypoints[i];
      const double dang = std::remainder(static_cast<double>(k.orientation) - c.angle, 2 * M_PI);
      if (std::hypot(k.x - c.x, k.y - c.y) >= 0.01 || std::abs(dang) >= 1e-3) continue;
      int d = 0;
      for (int j = 0; j < 128; ++j)
        d = std::max(d, std::abs(int(f.descriptors(static_cast<Eigen::Index>(i), j)) - int(c.desc[j / 8 * 8 + ubc[j % 8]])));
      diff = diff < 0 ? d : std::min(diff, d);
    }
    if (diff < 0) continue;
    ++found;
    identical += diff == 0;
    within1 += diff <= 1;
  }
  std::printf("COLMAP fixture: %d of %zu keypoints with their orientation, descriptors: %d identical, %d within 1\n",
              found, ref.size(), identical, within1);
  EXPECT_EQ(found, static_cast<int>(ref.size()));
  EXPECT_GE(identical, static_cast<int>(0.8 * ref.size()));
  // All but one: a keypoint on the last row of its octave, whose descriptor VLFeat skips (COLMAP then stores the
  // previous keypoint's buffer again).
  EXPECT_GE(within1, static_cast<int>(ref.size()) - 1);

  const FeatureSet acc = extract_sift(read_image(jpg, JpegDecode::kAccurate), SiftOptions{});
  int moved = 0;
  for (const ColmapFeature& c : ref) {
    double best = 1e30;
    for (const Keypoint& k : acc.keypoints) best = std::min(best, static_cast<double>(std::hypot(k.x - c.x, k.y - c.y)));
    moved += best > 0.01;
  }
  EXPECT_GT(moved, 300);  // the decode matters: about one grey level moves keypoints
}

TEST(Sift, BadInputIsAnError) {
  EXPECT_THROW(extract_sift(Image{}, SiftOptions{}), Error);
  SiftOptions opt;
  opt.octave_resolution = 0;
  EXPECT_THROW(extract_sift(textured_image(32, 32, 1), opt), Error);
  Image black{64, 64, 3, std::vector<float>(64 * 64 * 3, 0.0f)};
  EXPECT_TRUE(extract_sift(black, SiftOptions{}).keypoints.empty());
}

TEST(Sift, RotationBy90DegreesMatchesCorrectly) {
  Image img = resize_area(read_image(fountain("0000.jpg")), 4);  // 384 x 256
  Image rot{img.height, img.width, img.channels, std::vector<float>(img.pixels.size())};
  for (int y = 0; y < img.height; ++y)  // (x, y) -> (H - 1 - y, x): 90 degrees clockwise
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < img.channels; ++c) rot.at(x, img.height - 1 - y, c) = img.at(y, x, c);
  FeatureSet a = extract_sift(img, SiftOptions{}), b = extract_sift(rot, SiftOptions{});
  FeatureMatches m = match_descriptors(a.descriptors, b.descriptors, MatchOptions{});
  ASSERT_GT(m.size(), 100u);
  int correct = 0;
  for (auto [i, j] : m) {
    const Keypoint &ka = a.keypoints[i], &kb = b.keypoints[j];
    if (std::hypot(kb.x - (img.height - ka.y), kb.y - ka.x) < 2.0) ++correct;
  }
  double frac = double(correct) / m.size();
  std::printf("[sift] rotation 90: %zu / %zu keypoints, %zu matches, %.1f%% correct (< 2 px)\n", a.keypoints.size(),
              b.keypoints.size(), m.size(), 100 * frac);
  EXPECT_GT(frac, 0.8);
}

TEST(Sift, MatchesBetweenFountainPhotosObeyGroundTruthEpipolarGeometry) {
  SiftOptions opt;
  opt.max_image_size = 768;  // half of the stored 1536 px: keypoints come back in full-size pixels
  auto t0 = std::chrono::steady_clock::now();
  FeatureSet a = extract_sift(read_image(fountain("0000.jpg")), opt);
  FeatureSet b = extract_sift(read_image(fountain("0001.jpg")), opt);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  FeatureMatches m = match_descriptors(a.descriptors, b.descriptors, MatchOptions{});
  const auto cams = data_dir() / "strecha/fountain-P11/gt_dense_cameras";
  Eigen::Matrix3d F = fundamental_from(read_strecha(cams / "0000.jpg.camera"), read_strecha(cams / "0001.jpg.camera"));
  int good = 0;
  for (auto [i, j] : m) {
    Eigen::Vector2d x1(a.keypoints[i].x - 0.5, a.keypoints[i].y - 0.5), x2(b.keypoints[j].x - 0.5, b.keypoints[j].y - 0.5);
    if (epipolar_distance(F, x1, x2) < 4.0) ++good;
  }
  double frac = m.empty() ? 0 : double(good) / m.size();
  std::printf("[sift] fountain 0000/0001 at 768 px: %zu / %zu keypoints (%.2f s both), %zu mutual matches, "
              "%.1f%% with epipolar error < 4 px\n", a.keypoints.size(), b.keypoints.size(), secs, m.size(), 100 * frac);
  EXPECT_GT(m.size(), 300u);
  EXPECT_GT(frac, 0.8);
}

#ifdef VGSPLAT_HAS_OPENCV
TEST(Sift, AgreesWithOpenCvSift) {
  Image img = resize_area(read_image(fountain("0000.jpg")), 2);  // 768 x 512
  FeatureSet ours = extract_sift(img, SiftOptions{});
  cv::Mat grey(img.height, img.width, CV_8UC1);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      float v = 0.2126f * img.at(y, x, 0) + 0.7152f * img.at(y, x, 1) + 0.0722f * img.at(y, x, 2);
      grey.at<uint8_t>(y, x) = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255));
    }
  std::vector<cv::KeyPoint> cvk;
  cv::SIFT::create()->detect(grey, cvk);
  ASSERT_GT(cvk.size(), 200u);
  int hit = 0;
  for (const cv::KeyPoint& k : cvk) {
    const float x = k.pt.x + 0.5f, y = k.pt.y + 0.5f, sigma = k.size / 2;  // OpenCV: size = 2 sigma
    for (const Keypoint& o : ours.keypoints)
      if (std::hypot(o.x - x, o.y - y) < 1.5 && o.scale > sigma / 1.5f && o.scale < sigma * 1.5f) {
        ++hit;
        break;
      }
  }
  double frac = double(hit) / cvk.size();
  std::printf("[sift] OpenCV %zu keypoints, ours %zu: %.1f%% of OpenCV's have one of ours within 1.5 px at "
              "scale ratio < 1.5\n", cvk.size(), ours.keypoints.size(), 100 * frac);
  EXPECT_GT(frac, 0.6);
}
#endif

}  // namespace
}  // namespace vg::test
