// Internal: the CUDA kernels of the tracker's fine stage (track_modules/track_refine.py::refine_track) in
// cuda_tracker.cu; the CPU-only build gets throwing definitions from cuda_tracker_nocuda.cc. Tracks n0 .. n0+nc-1
// of coarse [S,N,2] (pixels), patch radius pr, patch side P = 2 pr + 1. C++17-clean: included by .cu files.
#pragma once
#include <cstdint>

namespace vg::tracks::cuda::detail {

// The 31x31 patches at floor(coarse) - pr, clamped into [0, H - P] on both axes (refine_track assumes H == W), of
// images [S,3,H,W]: out [nc*S, P, P, 3] NHWC, batch index (track - n0) * S + frame.
void extract_patches(const float* images, int64_t S, int64_t H, int64_t W, const float* coarse, int64_t N, int64_t n0,
                     int64_t nc, int pr, float* out);
// The fine predictor's query of each track: frame 0's fractional position plus pr. q [nc, 1, 2].
void fine_queries(const float* coarse, int64_t N, int64_t n0, int64_t nc, int pr, float* q);
// out [S,N,2] of tracks n0..: frame 0 keeps the coarse position; frame s > 0 the fine prediction last [nc,S,1,2]
// plus the unclamped patch corner floor(coarse) - pr.
void fine_tracks(const float* coarse, const float* last, int64_t S, int64_t N, int64_t n0, int64_t nc, int pr,
                 float* out);

}  // namespace vg::tracks::cuda::detail
