#include "sfm/tracks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "sfm/synthetic_scene.h"

using namespace vg;

namespace {

bool has(const Track& t, uint32_t image, uint32_t f) {
  return std::any_of(t.begin(), t.end(), [&](const TrackElement& e) { return e.image == image && e.point2d == f; });
}

bool consistent(const Track& t) {
  std::set<uint32_t> images;
  for (const TrackElement& e : t)
    if (!images.insert(e.image).second) return false;
  return true;
}

}  // namespace

TEST(Tracks, ChainsMatchesAcrossImages) {
  // 0:0 - 1:2 - 2:1 form one track; 0:1 - 1:0 another; 2:0 unmatched.
  std::map<std::pair<int, int>, FeatureMatches> m;
  m[{0, 1}] = {{0, 2}, {1, 0}};
  m[{1, 2}] = {{2, 1}};
  std::vector<Track> tracks = build_tracks({2, 3, 2}, m);
  ASSERT_EQ(tracks.size(), 2u);
  const Track& a = tracks[0].size() == 3 ? tracks[0] : tracks[1];
  const Track& b = tracks[0].size() == 3 ? tracks[1] : tracks[0];
  EXPECT_TRUE(has(a, 0, 0) && has(a, 1, 2) && has(a, 2, 1));
  EXPECT_TRUE(has(b, 0, 1) && has(b, 1, 0));
  EXPECT_EQ(build_tracks({2, 3, 2}, m, 3).size(), 1u);  // min_track_length
}

TEST(Tracks, InconsistentTrackIsSplit) {
  // Two true tracks over images 0..3: A = features 0 in every image, B = features 1. One wrong match
  // (0:0 - 3:1) joins them into a component holding two features of images 0 and 3.
  std::map<std::pair<int, int>, FeatureMatches> m;
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j) m[{i, j}] = {{0, 0}, {1, 1}};
  m[{0, 3}] = {{0, 0}, {1, 1}, {0, 1}};
  std::vector<Track> tracks = build_tracks({2, 2, 2, 2}, m);
  ASSERT_EQ(tracks.size(), 2u);
  for (const Track& t : tracks) {
    EXPECT_TRUE(consistent(t));
    ASSERT_EQ(t.size(), 4u);
    const uint32_t f = t[0].point2d;
    for (const TrackElement& e : t) EXPECT_EQ(e.point2d, f);  // the wrong match was dropped
  }
}

TEST(Tracks, BadInputThrows) {
  std::map<std::pair<int, int>, FeatureMatches> m;
  m[{0, 1}] = {{0, 5}};
  EXPECT_THROW(build_tracks({2, 2}, m), Error);
  m.clear();
  m[{0, 2}] = {{0, 0}};
  EXPECT_THROW(build_tracks({2, 2}, m), Error);
}

TEST(Tracks, SyntheticSceneTracksAreConsistentAndMostlyCorrect) {
  SyntheticOptions opt;
  opt.num_images = 12;
  opt.num_points = 800;
  opt.outlier_ratio = 0.2;
  SyntheticScene s = make_synthetic_scene(opt);
  std::vector<int> counts;
  for (const MapperImage& im : s.input.images) counts.push_back(static_cast<int>(im.keypoints.size()));
  std::map<std::pair<int, int>, FeatureMatches> m;
  for (const auto& [p, tv] : s.input.pairs) m[p] = tv.inlier_matches;
  std::vector<Track> tracks = build_tracks(counts, m);
  ASSERT_GT(tracks.size(), 300u);
  // Majority point of each track; count observations that disagree with it.
  size_t total = 0, wrong = 0;
  for (const Track& t : tracks) {
    EXPECT_TRUE(consistent(t));
    std::map<int64_t, int> votes;
    for (const TrackElement& e : t) ++votes[s.truth.images.at(e.image + 1).point3D_ids[e.point2d]];
    int best = 0;
    for (auto [p, n] : votes) best = std::max(best, p >= 0 ? n : 0);
    total += t.size();
    wrong += t.size() - best;
  }
  const double frac = double(wrong) / total;
  std::printf("tracks %zu, observations %zu, wrong %.4f\n", tracks.size(), total, frac);
  EXPECT_LT(frac, 0.05);
}
