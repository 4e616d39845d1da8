// Feature tracks: union-find over verified matches (COLMAP's correspondence graph); a track that holds two
// features of one image is inconsistent and is split so each image appears at most once.
#pragma once
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "geometry/two_view.h"

namespace vg {

struct TrackElement {
  uint32_t image;  // index into the image list
  uint32_t point2d;
};
using Track = std::vector<TrackElement>;

// pair_matches: (image i, image j) with i < j -> inlier matches (feature in i, feature in j).
std::vector<Track> build_tracks(const std::vector<int>& num_features_per_image,
                                const std::map<std::pair<int, int>, FeatureMatches>& pair_matches,
                                int min_track_length = 2);

}  // namespace vg
