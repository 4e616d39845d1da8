// CPU reference of the fused preprocess: the shared per-Gaussian math (projection_math.h) over
// parallel_for. Every Gaussian is independent, so the result does not depend on the thread count;
// the viewmat gradient is summed in double over fixed blocks of Gaussians, then the blocks in order,
// so it does not depend on the thread count either.
#include <vector>

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
  if (!g.viewmat) {
    parallel_for(p.n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) backward_element(i, p, v, s, in, g);
    });
    return;
  }
  constexpr int64_t kBlock = 1024;
  const int64_t blocks = (p.n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<size_t>(blocks) * 12, 0.0);
  parallel_for(blocks, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) {
      double* acc = partial.data() + blk * 12;
      for (int64_t i = blk * kBlock; i < p.n && i < (blk + 1) * kBlock; ++i) {
        float one[12] = {};
        backward_element(i, p, v, s, in, g, one);
        for (int k = 0; k < 12; ++k) acc[k] += one[k];
      }
    }
  }, 1);
  double sum[12] = {};
  for (int64_t blk = 0; blk < blocks; ++blk)
    for (int k = 0; k < 12; ++k) sum[k] += partial[blk * 12 + k];
  for (int k = 0; k < 12; ++k) g.viewmat[viewmat_index(k)] = static_cast<float>(sum[k]);
}

}  // namespace vg::proj
