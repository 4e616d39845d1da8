// The VGGT network (models/vggt.py) on the CPU in fp32: aggregator, camera head, depth head and optionally the
// point head, for S frames [S,3,H,W] in [0,1] (H, W multiples of the patch size; 518x518 in the pipelines).
#pragma once
#include <map>
#include <vector>

#include "core/tensor.h"
#include "vggt/config.h"
#include "vggt/weights.h"

namespace vg::vggt {

struct VggtOutput {
  Tensor pose_enc;                     // [S, 9]: T (3), quaternion xyzw (4), FoV h, w (2), last iteration
  std::vector<Tensor> pose_enc_iters;  // one [S, 9] per camera-head iteration
  Tensor extrinsics;                   // [S, 3, 4] world-to-camera [R|t], OpenCV convention
  Tensor intrinsics;                   // [S, 3, 3] pixels, principal point at the image centre
  Tensor depth, depth_conf;            // [S, H, W] (exp), [S, H, W] (1 + exp)
  Tensor world_points, world_points_conf;  // [S, H, W, 3], [S, H, W] when the point head ran
  Tensor dino_patch_tokens;            // [S, P, E]
  std::map<int, Tensor> tokens;        // aggregator outputs [S, T, 2E] kept (the heads' inputs, or all)
};

struct VggtOptions {
  bool point_head = false;
  bool keep_all_tokens = false;  // every aggregator output in VggtOutput::tokens (tests)
};

class VggtModel {
 public:
  VggtModel(VggtConfig cfg, VggtWeights weights) : cfg_(cfg), w_(std::move(weights)) {}
  const VggtConfig& config() const { return cfg_; }
  VggtOutput forward(const Tensor& images, const VggtOptions& opts = {}) const;

 private:
  VggtConfig cfg_;
  VggtWeights w_;
};

// utils/pose_enc.py pose_encoding_to_extri_intri for images of h x w: pose_enc [S,9] -> [S,3,4], [S,3,3].
void pose_encoding_to_extri_intri(const Tensor& pose_enc, int64_t h, int64_t w, Tensor& extrinsics,
                                  Tensor& intrinsics);

}  // namespace vg::vggt
