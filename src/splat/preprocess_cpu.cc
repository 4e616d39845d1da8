// CPU reference of the fused preprocess: the shared per-Gaussian math (projection_math.h) over
// parallel_for. Every Gaussian is independent, so the result does not depend on the thread count.
#include "core/parallel.h"
#include "splat/projection_math.h"

namespace vg::proj {

void forward_cpu(const ParamPtrs& p, const View<float>& v, const Settings<float>& s, const ForwardPtrs& o) {
  parallel_for(p.n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) forward_element(i, p, v, s, o);
  });
}

void backward_cpu(const ParamPtrs& p, const View<float>& v, const Settings<float>& s, const BackwardInPtrs& in,
                  const GradPtrs& g) {
  parallel_for(p.n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) backward_element(i, p, v, s, in, g);
  });
}

}  // namespace vg::proj
