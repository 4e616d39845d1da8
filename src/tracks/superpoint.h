// SuperPoint keypoints (DeTone, Malisiewicz, Rabinovich, "SuperPoint: Self-Supervised Interest Point Detection
// and Description", CVPRW 2018) exactly as LightGlue's SuperPoint.extract returns them (lightglue/superpoint.py,
// utils.py), the query-point detector VGGT's track_predict.py uses with max_num_keypoints = max_query_pts and
// detection_threshold 0.005. fp32 CPU reference. Only keypoints and their scores: the tracker never reads the
// descriptors, so the descriptor head (convDa / convDb) is not run and its weights are not loaded.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/tensor.h"
#include "tracks/keypoints.h"

namespace vg::tracks {

inline constexpr const char* kSuperPointFile = "superpoint_v1.pth";

struct SuperPointOptions {
  int max_keypoints = 4096;           // max_num_keypoints; 0 keeps all (LightGlue's None)
  float detection_threshold = 0.005f;  // VGGT's det_thres (LightGlue's own default is 0.0005)
  int nms_radius = 4;                  // LightGlue defaults from here on
  int remove_borders = 4;
  // preprocess_conf resize (long side, px). Only the identity is implemented: an image whose long side is not
  // `resize` throws (the pipeline feeds 1024-px images). 0 = no resizing (extract(..., resize=None)).
  int resize = 1024;
};

// Channel widths c1..c5 of the VGG encoder and detector head; the published network's by default (the test
// fixture narrows them).
using SuperPointWidths = std::array<int64_t, 5>;
inline constexpr SuperPointWidths kSuperPointWidths = {64, 64, 128, 128, 256};

class SuperPoint {
 public:
  // Reads the published superpoint_v1.pth (or a .safetensors / .pt with its key names: conv1a.weight, ...).
  static SuperPoint load(const std::filesystem::path& file, const SuperPointOptions& opt = {});
  static SuperPoint load(const std::filesystem::path& file, const SuperPointOptions& opt,
                         const SuperPointWidths& widths);

  // image [3,H,W] (RGB) or [1,H,W] (gray), F32 CPU in [0,1]. Keypoints at integer pixel positions (x, y),
  // best first (ties in raster order; LightGlue keeps raster order when nothing is cut by max_keypoints).
  Keypoints extract(const Tensor& image) const;

  // The dense detector map simple_nms receives: softmax over 65 channels, dustbin dropped, depth-to-space:
  // [8 (H/8), 8 (W/8)] F32 (H/8, W/8 floored by the three 2x2 pools).
  Tensor dense_scores(const Tensor& image) const;

  const SuperPointOptions& options() const { return opt_; }
  // Convolution i of conv1a, conv1b, ..., conv4b, convPa, convPb (PyTorch layout), for CudaSuperPoint.
  const Tensor& conv_weight(int i) const { return conv_.at(i).w; }
  const Tensor& conv_bias(int i) const { return conv_.at(i).b; }

 private:
  struct Conv {
    Tensor w, b;
  };
  SuperPointOptions opt_;
  std::array<Conv, 10> conv_;  // conv1a, conv1b, ..., conv4b, convPa, convPb
};

// The input check shared by the CPU and CUDA engines (`who` names the engine): an F32 image [3|1,H,W] (on the CPU when
// cpu_only) of at least one 8x8 cell whose long side is opt.resize (when set).
void check_superpoint_image(const Tensor& image, const SuperPointOptions& opt, const char* who, bool cpu_only);

// LightGlue's simple_nms on a score map [H,W]: a point survives when it is the maximum of its (2r+1)^2 window,
// then twice more the points outside every survivor's window that are maxima of the suppressed map join.
// Returns the scores of the survivors, 0 elsewhere.
Tensor simple_nms(const Tensor& scores, int radius);

// Border removal, threshold, top-k of an NMS'd map [H,W] (SuperPoint.forward after simple_nms), keypoints as
// (x, y), best first.
Keypoints select_keypoints(const Tensor& nms_scores, const SuperPointOptions& opt);

// select_keypoints' top-k step alone: candidates (flat raster indices y W + x in ascending order, as torch.where
// gives them, with their scores) best first (stable: ties in raster order), cut to max_keypoints (0 keeps all).
Keypoints rank_keypoints(const std::vector<int64_t>& raster_idx, const std::vector<float>& scores, int64_t W,
                         int max_keypoints);

}  // namespace vg::tracks
