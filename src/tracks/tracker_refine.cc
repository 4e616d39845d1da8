// track_modules/track_refine.py::refine_track (compute_score=False): 31x31 image patches at the floored coarse
// positions, fine_fnet on each, and the fine predictor per track on its patch sequence (VGGSfM's coarse-to-fine
// tracking, arXiv:2312.04563 Sec. 3.1). Tracks are independent in the fine predictor (one query point per batch
// element, no space attention), so they are processed one at a time in parallel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "tracks/tracker_internal.h"

namespace vg::tracks {

Tensor VggsfmTracker::refine(const Tensor& images, const Tensor& coarse) const {
  VG_CHECK(images.ndim() == 4 && images.size(1) == 3 && images.dtype() == DType::F32 && !images.is_cuda(),
           "VggsfmTracker::refine: expected F32 CPU images [S,3,H,W], got ", shape_str(images.shape()));
  const int64_t S = images.size(0), H = images.size(2), W = images.size(3);
  VG_CHECK(coarse.ndim() == 3 && coarse.size(0) == S && coarse.size(2) == 2 && coarse.dtype() == DType::F32,
           "VggsfmTracker::refine: expected coarse tracks [", S, ",N,2], got ", shape_str(coarse.shape()));
  const int64_t N = coarse.size(1), pr = cfg_.pradius, P = 2 * pr + 1;
  // refine_track clamps both patch corners with H (its own note: it assumes H == W).
  VG_CHECK(H == W, "fine tracking needs square images (refine_track clamps patch corners with the height), got ", W,
           "x", H, "; pad or crop to a square, or track without fine tracking");
  VG_CHECK(H >= P, "fine tracking needs images of at least ", P, "x", P, " pixels, got ", W, "x", H);
  const float* cp = coarse.data<float>();
  const float* img = images.data<float>();
  Tensor out = Tensor::empty({S, N, 2});
  float* op = out.data<float>();
  const int64_t C = cfg_.fine_fnet_dim;
  parallel_for(
      N,
      [&](int64_t b, int64_t e) {
        Tensor patch = Tensor::empty({3, P, P});
        for (int64_t n = b; n < e; ++n) {
          Tensor fmaps = Tensor::empty({S, C, P, P});
          int64_t topleft[2] = {0, 0};  // of frame s, before clamping (the fine tracks are relative to it)
          std::vector<int64_t> corner(S * 2);
          for (int64_t s = 0; s < S; ++s) {
            int64_t clamped[2];
            for (int k = 0; k < 2; ++k) {
              topleft[k] = static_cast<int64_t>(std::floor(cp[(s * N + n) * 2 + k])) - pr;
              clamped[k] = std::clamp<int64_t>(topleft[k], 0, H - P);
              corner[s * 2 + k] = topleft[k];
            }
            float* pd = patch.data<float>();
            for (int64_t c = 0; c < 3; ++c)
              for (int64_t y = 0; y < P; ++y)
                for (int64_t x = 0; x < P; ++x)
                  pd[(c * P + y) * P + x] = img[((s * 3 + c) * H + clamped[1] + y) * W + clamped[0] + x];
            const Tensor f = detail::shallow_encoder(w_, "fine_fnet", patch, 1);
            std::copy(f.data<float>(), f.data<float>() + f.numel(), fmaps.data<float>() + s * C * P * P);
          }
          // The query inside the patch: the fractional part of frame 0's position, plus the radius.
          float q[2];
          for (int k = 0; k < 2; ++k) {
            const float v = cp[n * 2 + k];
            q[k] = (v - static_cast<float>(static_cast<int32_t>(std::floor(v)))) + static_cast<float>(pr);
          }
          const detail::PredictorOutput o = detail::track_predictor(
              w_, "fine_predictor", cfg_.fine, fmaps, Tensor::from_vector(std::vector<float>{q[0], q[1]}, {1, 2}),
              cfg_.fine_iters, 1);
          const float* last = o.coords.back().data<float>();  // [S,1,2]
          for (int64_t s = 0; s < S; ++s)
            for (int k = 0; k < 2; ++k)
              op[(s * N + n) * 2 + k] =
                  s == 0 ? cp[n * 2 + k] : last[s * 2 + k] + static_cast<float>(corner[s * 2 + k]);
        }
      },
      1);
  return out;
}

}  // namespace vg::tracks
