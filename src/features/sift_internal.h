// Internal interface between the SIFT front end (sift.cc: grey conversion, resizing, RootSIFT, sorting)
// and its two backends (sift_cpu.cc, sift.cu). C++17 (included by the .cu).
#pragma once
#include <vector>

#include "features/sift_common.h"

namespace vg::sift {

// Scale-space and detector parameters, derived from SiftOptions.
struct Params {
  int S = 3;             // octave resolution
  int o_min = -1;        // first octave (-1: image upsampled x2)
  int num_octaves = 4;
  float sigma0 = 0;      // 1.6 * 2^(1/S): sigma of level 0
  float sigman = 0.5f;   // nominal blur of the input image
  float peak_thresh = 0, edge_thresh = 10;
  int max_orientations = 2;
  bool upright = false;
};

// Octave o's size given the base image: w * 2^-o (o = -1 doubles it).
inline void octave_size(int w, int h, int o, int* wo, int* ho) {
  *wo = o < 0 ? w << -o : w >> o;
  *ho = o < 0 ? h << -o : h >> o;
}

// Incremental blur from level s-1 to s (octave pixels): sigma_s^2 - sigma_{s-1}^2.
float level_dsigma(const Params& p, int s);
// Initial blur of the first octave's level s_min from the nominal sigman (0 when none is needed).
float base_dsigma(const Params& p);
// Normalised Gaussian taps, radius ceil(4 sigma) (VLFeat's smoothing window).
std::vector<float> gaussian_taps(float sigma);
// Number of octaves actually processed (stops before an octave smaller than 8 px).
int octave_count(const Params& p, int w, int h);

// Output of a backend: keypoints in the extraction image's pixels (VLFeat convention: pixel centres at
// integers), sigma in those pixels, angle in radians, and the L2/clamp/L2-normalised float descriptor.
// level orders the DoG levels from fine to coarse (octave, then integer scale index); extremum numbers the
// detected keypoints (one extremum gives up to max_orientations features).
struct RawFeature {
  float x, y, sigma, angle;
  int level, extremum;
};
struct RawFeatures {
  std::vector<RawFeature> kps;
  std::vector<float> desc;  // kps.size() x kDescDim
  int num_extrema = 0;
};
inline int dog_level(int octave, int is) { return (octave + 8) * 64 + (is + 8); }

// grey: w*h row-major in [0,1].
RawFeatures extract_cpu(const std::vector<float>& grey, int w, int h, const Params& p);
RawFeatures extract_cuda(const std::vector<float>& grey, int w, int h, const Params& p, int device);

// Bilinear x2 upsampling with samples at even positions (VLFeat's copy_and_upsample).
void upsample2(const float* src, int w, int h, float* dst);

}  // namespace vg::sift
