// Query keypoints of one image from a detector (SuperPoint, ALIKED), as LightGlue's extract() returns them.
#pragma once
#include "core/tensor.h"

namespace vg::tracks {

struct Keypoints {
  Tensor xy;      // [N,2] F32 pixel (x, y)
  Tensor scores;  // [N] F32; order as the extractor returns them (LightGlue's)
};

}  // namespace vg::tracks
