// The VGGSfM v2 point tracker (vggt/dependency/vggsfm_tracker.py::TrackerPredictor; VGGSfM, Wang et al.,
// CVPR 2024, arXiv:2312.04563): a coarse CoTracker-style predictor on stride-8 feature maps, then a fine
// predictor on 31x31 image patches around each coarse track. fp32 CPU; weights by the official state-dict names
// of the published vggsfm_v2_tracker.pt, loaded as they are.
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/tensor.h"
#include "io/state_dict.h"

namespace vg::tracks {

inline constexpr const char* kTrackerFile = "vggsfm_v2_tracker.pt";

// One BaseTrackerPredictor (track_modules/base_track_predictor.py) with its EfficientUpdateFormer.
struct TrackPredictorConfig {
  int stride = 4;              // feature-map stride relative to the (down-scaled) images
  int corr_levels = 5;         // correlation pyramid levels (avg-pooled by 2)
  int corr_radius = 4;         // (2r+1)^2 correlation samples per level
  int latent_dim = 128;        // track-feature channels (== the encoder's output channels)
  int hidden_size = 384;       // transformer width
  int num_heads = 8;           // nn.MultiheadAttention heads (fixed to 8 in the official class)
  int depth = 6;               // time blocks (and space blocks when use_spaceatt)
  bool use_spaceatt = true;    // virtual-track space attention
  int num_virtual_tracks = 64;
  bool fine = false;           // the fine predictor: no visibility head, other padding of the input width
  // Width of the transformer input (flow embedding + correlations + track features, padded as the official).
  int64_t transformer_dim() const;
};

struct TrackerConfig {
  int coarse_down_ratio = 2;   // images are bilinearly down-scaled by this before the coarse encoder
  int coarse_stride = 4;       // BasicEncoder stride
  int coarse_fnet_dim = 128;   // BasicEncoder output channels
  int fine_fnet_dim = 32;      // ShallowEncoder output channels
  TrackPredictorConfig coarse{};
  TrackPredictorConfig fine{.stride = 1, .corr_levels = 3, .corr_radius = 3, .latent_dim = 32, .hidden_size = 256,
                            .num_heads = 8, .depth = 4, .use_spaceatt = false, .num_virtual_tracks = 64,
                            .fine = true};
  int pradius = 15;            // refine_track's patch radius (31x31 patches)
  int fine_iters = 6;          // refine_track's default
  void validate() const;       // throws a vg::Error naming the inconsistent size
};

// Every key and shape of the state dict the engine reads for `cfg` (the published TrackerPredictor's keys for
// the defaults).
ParamList tracker_params(const TrackerConfig& cfg);

class VggsfmTracker {
 public:
  static VggsfmTracker load(const std::filesystem::path& file, const TrackerConfig& cfg = {});
  VggsfmTracker(StateDict weights, const TrackerConfig& cfg);  // weights already checked against tracker_params

  const TrackerConfig& config() const { return cfg_; }
  const StateDict& weights() const { return w_; }  // official names, F32 CPU (the CUDA engine uploads them)

  // process_images_to_fmaps: images [S,3,H,W] in [0,1] -> coarse feature maps [S,C,H/(2*4),W/(2*4)].
  Tensor coarse_fmaps(const Tensor& images) const;

  struct Result {
    Tensor tracks;  // [S,N,2] pixel (x, y)
    Tensor vis;     // [S,N] in [0,1]
  };
  // TrackerPredictor.forward with precomputed fmaps; frame 0 holds the query points [N,2] (pixels).
  // fine_chunk is accepted for parity with the official call (it only bounds memory there; here the fine stage
  // works one track at a time, which bounds it anyway).
  Result track(const Tensor& images, const Tensor& fmaps, const Tensor& query_points, bool fine_tracking,
               int coarse_iters = 6, int64_t fine_chunk = 40960) const;

  // The pieces, for tests and diagnostics.
  struct CoarseResult {
    std::vector<Tensor> iters;  // [S,N,2] pixel tracks after each iteration
    Tensor vis;                 // [S,N]
  };
  CoarseResult coarse_track(const Tensor& fmaps, const Tensor& query_points, int iters) const;
  // refine_track (compute_score=False): coarse [S,N,2] pixel tracks -> refined [S,N,2]; images square.
  Tensor refine(const Tensor& images, const Tensor& coarse) const;
  // fine_fnet on one patch [3,P,P] -> [C,P,P].
  Tensor fine_features(const Tensor& patch) const;

 private:
  StateDict w_;
  TrackerConfig cfg_;
};

}  // namespace vg::tracks
