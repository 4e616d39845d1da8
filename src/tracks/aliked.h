// ALIKED keypoints (Zhao et al. 2023, "ALIKED: A Lighter Keypoint and Descriptor Extraction Network via
// Deformable Transformation", arXiv 2304.03608) exactly as LightGlue's ALIKED.extract (lightglue/aliked.py,
// utils.py), the query-point detector of VGGT's track_predict.py: model "aliked-n16", fp32 CPU, weights read
// from the published aliked-n16.pth by their official names. Only keypoints and scores are produced: the SDDH
// descriptor head (desc_head.*) is not used by the tracker, so its weights are skipped when loading.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/state_dict.h"
#include "tracks/keypoints.h"

namespace vg::tracks {

inline constexpr const char* kAlikedFile = "aliked-n16.pth";

struct AlikedOptions {
  int max_keypoints = 4096;           // LightGlue max_num_keypoints (VGGT: max_query_pts); <= 0: no limit
  float detection_threshold = 0.005f;  // > 0: score threshold mode (n_limit = max_keypoints or 20000);
                                       // <= 0: top-k mode with k = max_keypoints (mean threshold when k <= 0)
  int nms_radius = 2;                  // LightGlue default; also the soft-argmax window radius
  int resize = 1024;  // LightGlue's preprocess long side: images must already have it; 0 = no resize (resize=None)
};

class Aliked {
 public:
  static Aliked load(const std::filesystem::path& file, const AlikedOptions& opt = {});

  // image [3,H,W] (or [1,H,W], repeated to RGB as the official forward) F32 CPU in [0,1] -> keypoints in
  // pixels (x, y) in the official order (raster order; by score when the limit applies) and their scores.
  Keypoints extract(const Tensor& image) const;

  // The pieces of extract(), exposed for the parity tests:
  Tensor score_map(const Tensor& image) const;         // extract_dense_map's score map [1,H,W] (unpadded)
  Keypoints detect(const Tensor& score_map) const;     // DKD + extract()'s pixel convention on [1,H,W]
  // One DeformableConv2d by its key prefix, e.g. "block3.conv1".
  Tensor deformable_conv(const std::string& prefix, const Tensor& x) const;

  const AlikedOptions& options() const { return opt_; }
  const StateDict& weights() const { return w_; }  // for CudaAliked

 private:
  Aliked(StateDict w, const AlikedOptions& opt) : w_(std::move(w)), opt_(opt) {}
  StateDict w_;
  AlikedOptions opt_;
};

// detect()'s steps after simple_nms and border removal: `nms` is the NMS'd score map with the nms_radius-px
// border zeroed, score_map [1,H,W] F32 CPU the map it came from (threshold / top-k selection, soft-argmax
// refinement, score sampling, pixel convention).
Keypoints detect_from_nms(const Tensor& score_map, const std::vector<float>& nms, const AlikedOptions& opt);

// Input checks shared by the CPU and CUDA engines (`who` names the engine in the message): an F32 image [3|1,H,W]
// (on the CPU when cpu_only) with pixels more than nms_radius r inside the border; extract()'s long side.
void check_aliked_image(const Tensor& image, int r, const char* who, bool cpu_only);
void check_aliked_extract_size(const Tensor& image, const AlikedOptions& opt, const char* who);
// Columns [c0, c0 + n) of a 1x1 conv weight [O, C, 1, 1] (the score head's split over the concatenated features).
Tensor aliked_weight_columns(const Tensor& w, int64_t c0, int64_t n);

// The key names and shapes the engine reads (aliked-n16), for load() and for tests.
ParamList aliked_params();

}  // namespace vg::tracks
