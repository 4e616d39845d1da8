#include "tracks/track_models.h"

#include <memory>

#include "features/sift.h"
#include "io/image.h"
#include "tracks/aliked.h"
#include "tracks/dino.h"
#include "tracks/superpoint.h"
#include "tracks/tracker.h"

namespace vg::tracks {

namespace {

// LightGlue's SIFT extractor in the final trial, replaced by vgsplat's SIFT (COLMAP's algorithm) with the same
// keypoint budget; keypoints moved from COLMAP's pixel convention (top-left centre 0.5) to LightGlue's (0).
std::function<Keypoints(const Tensor&)> sift_extractor(int max_keypoints, Device device) {
  return [max_keypoints, device](const Tensor& image) {
    const Tensor im = image.to(Device::cpu());
    const int64_t C = im.size(0), H = im.size(1), W = im.size(2);
    Image img;
    img.width = static_cast<int>(W);
    img.height = static_cast<int>(H);
    img.channels = static_cast<int>(C);
    img.pixels.resize(static_cast<size_t>(C * H * W));
    const float* p = im.data<float>();
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H * W; ++i) img.pixels[static_cast<size_t>(i * C + c)] = p[c * H * W + i];
    SiftOptions so;
    so.max_num_features = max_keypoints;
    so.max_image_size = static_cast<int>(std::max(H, W));
    const FeatureSet f = extract_sift(img, so, device);
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(f.keypoints.size()), max_keypoints);
    Keypoints k{Tensor::empty({n, 2}), Tensor::zeros({n})};
    for (int64_t i = 0; i < n; ++i) {
      k.xy.data<float>()[2 * i] = f.keypoints[static_cast<size_t>(i)].x - 0.5f;
      k.xy.data<float>()[2 * i + 1] = f.keypoints[static_cast<size_t>(i)].y - 0.5f;
    }
    return k;
  };
}

}  // namespace

TrackModels load_track_models(const TrackerWeightPaths& paths, const TrackModelOptions& opt) {
  auto dino = std::make_shared<const Dinov2>(Dinov2::load(paths.dino));
  AlikedOptions ao;
  ao.max_keypoints = opt.max_query_pts;
  ao.detection_threshold = opt.detection_threshold;
  SuperPointOptions so;
  so.max_keypoints = opt.max_query_pts;
  so.detection_threshold = opt.detection_threshold;
  auto aliked = std::make_shared<const Aliked>(Aliked::load(paths.aliked, ao));
  auto sp = std::make_shared<const SuperPoint>(SuperPoint::load(paths.superpoint, so));
  ao.max_keypoints = so.max_keypoints = opt.final_max_query_pts;
  auto aliked_final = std::make_shared<const Aliked>(Aliked::load(paths.aliked, ao));
  auto sp_final = std::make_shared<const SuperPoint>(SuperPoint::load(paths.superpoint, so));
  auto tracker = std::make_shared<const VggsfmTracker>(VggsfmTracker::load(paths.tracker));

  TrackModels m;
  m.rank_frames = [dino](const Tensor& images, int n) { return rank_frames(dino->cls_tokens(images), n); };
  m.extractors = {[aliked](const Tensor& im) { return aliked->extract(im); },
                  [sp](const Tensor& im) { return sp->extract(im); }};
  m.final_extractors = {[sp_final](const Tensor& im) { return sp_final->extract(im); },
                        sift_extractor(opt.final_max_query_pts, opt.device),
                        [aliked_final](const Tensor& im) { return aliked_final->extract(im); }};
  m.fmaps = [tracker](const Tensor& images) { return tracker->coarse_fmaps(images); };
  const bool fine = opt.fine_tracking;
  m.track = [tracker, fine](const Tensor& images, const Tensor& fmaps, const Tensor& q) {
    VggsfmTracker::Result r = tracker->track(images, fmaps, q, fine);
    return TrackChunk{std::move(r.tracks), std::move(r.vis)};
  };
  return m;
}

}  // namespace vg::tracks
