#include "tracks/track_models.h"

#include <memory>

#include "features/sift.h"
#include "io/image.h"
#include "tracks/aliked.h"
#include "tracks/cuda_aliked.h"
#include "tracks/cuda_dino.h"
#include "tracks/cuda_superpoint.h"
#include "tracks/cuda_tracker.h"
#include "tracks/dino.h"
#include "tracks/superpoint.h"
#include "tracks/tracker.h"
#include "vggt/engine.h"

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

// The four networks of one engine (the CPU fp32 classes or their CUDA counterparts, same interface) as TrackModels.
template <class Dino, class Al, class Sp, class Tracker>
TrackModels wrap(std::shared_ptr<const Dino> dino, std::shared_ptr<const Al> aliked, std::shared_ptr<const Sp> sp,
                 std::shared_ptr<const Al> aliked_final, std::shared_ptr<const Sp> sp_final,
                 std::shared_ptr<const Tracker> tracker, const TrackModelOptions& opt) {
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

template <class T>
std::shared_ptr<const T> share(T&& t) {
  return std::make_shared<const T>(std::move(t));
}

}  // namespace

TrackModels load_track_models(const TrackerWeightPaths& paths, const TrackModelOptions& opt) {
  AlikedOptions ao;
  ao.max_keypoints = opt.max_query_pts;
  ao.detection_threshold = opt.detection_threshold;
  SuperPointOptions so;
  so.max_keypoints = opt.max_query_pts;
  so.detection_threshold = opt.detection_threshold;
  AlikedOptions af = ao;  // the final trial's extractors: fewer points
  SuperPointOptions sf = so;
  af.max_keypoints = sf.max_keypoints = opt.final_max_query_pts;
  if (opt.device.is_cpu()) {
    VG_CHECK(opt.precision == "auto" || opt.precision == "fp32", "the track networks' CPU engine runs fp32 only ",
             "(precision '", opt.precision, "' needs --device cuda)");
    return wrap(share(Dinov2::load(paths.dino)), share(Aliked::load(paths.aliked, ao)),
                share(SuperPoint::load(paths.superpoint, so)), share(Aliked::load(paths.aliked, af)),
                share(SuperPoint::load(paths.superpoint, sf)), share(VggsfmTracker::load(paths.tracker)), opt);
  }
  // CUDA: weights read and checked on the host, uploaded once.
  const Device d = opt.device;
  const vggt::cuda::Precision p = vggt::resolve_precision(opt.precision, d);
  return wrap(share(CudaDinov2(Dinov2::load(paths.dino), d, p)), share(CudaAliked(Aliked::load(paths.aliked, ao), d, p)),
              share(CudaSuperPoint(SuperPoint::load(paths.superpoint, so), d, p)),
              share(CudaAliked(Aliked::load(paths.aliked, af), d, p)),
              share(CudaSuperPoint(SuperPoint::load(paths.superpoint, sf), d, p)),
              share(CudaVggsfmTracker(VggsfmTracker::load(paths.tracker), d, p)), opt);
}

}  // namespace vg::tracks
