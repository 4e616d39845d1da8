// Internal: CUDA launchers of the keypoint detectors (SuperPoint, ALIKED) beyond the shared conv layer
// (tracks/cuda_nn.h): image preparation, SuperPoint's cell softmax, LightGlue's simple_nms, candidate selection,
// SELU / sigmoid, ALIKED's pooling / cropping and the deformable im2col. Raw device pointers, fp32, default
// stream, no host synchronisation. Maps are NHWC ([H, W, C], one frame). C++17-clean: included by .cu files;
// the CPU-only build gets throwing definitions from cuda_keypoint_kernels_nocuda.cc.
#pragma once
#include <cstdint>

namespace vg::tracks::cuda {

// kornia rgb_to_grayscale of a CHW image (C = 3, or C = 1: copied): out [H*W].
void image_to_gray(const float* chw, int64_t C, int64_t H, int64_t W, float* out);
// ALIKED's input: CHW image (C = 3, or C = 1 repeated to RGB) replicate-padded by (top, left) to [Hp, Wp, 3].
void image_to_padded_rgb(const float* chw, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t Hp,
                         int64_t Wp, float* out);
// SuperPoint: softmax over the 65 bins of logits [h, w, 65], dustbin dropped, bin i*8+j -> pixel (8y+i, 8x+j):
// out [8h, 8w].
void cell_softmax_to_pixels(const float* logits, int64_t h, int64_t w, float* out);
// LightGlue's simple_nms on a map [H, W] (max-pool windows of (2r+1)^2, -inf padding): survivors keep their
// score, the rest 0. scratch: 4 H W floats.
void simple_nms(const float* s, int64_t H, int64_t W, int r, float* out, float* scratch);
// s := 0 within r px of the border (DKD's border removal), in place.
void zero_border(float* s, int64_t H, int64_t W, int r);
// Pixels of s [H, W] outside a `border`-px frame with s > threshold: their raster index and score at slots
// taken with atomicAdd on *count (unordered; count must start at 0).
void threshold_candidates(const float* s, int64_t H, int64_t W, int border, float threshold, int32_t* idx,
                          float* score, int32_t* count);
// In place, n elements: nn.SELU, sigmoid.
void selu(float* x, int64_t n);
void sigmoid(float* x, int64_t n);
// nn.AvgPool2d(k, stride k), floor mode: x [H, W, C] -> [H/k, W/k, C].
void avg_pool(const float* x, int64_t H, int64_t W, int64_t C, int k, float* out);
// out [Ho, Wo, C] = x [H, W, C] rows top.., columns left...
void crop(const float* x, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t Ho, int64_t Wo,
          float* out);
// Deformable im2col (torchvision deform_conv2d, one offset group, no mask), rows row0 .. row0+rows-1 (output
// pixels p = oy Wo + ox): for tap t = ky k + kx, column (t, c) = bilinear sample of x [H, W, C] at
// (oy stride - pad + ky dil + dy, ox stride - pad + kx dil + dx) (zero outside, as deform_conv.cc), (dy, dx) =
// offset[p, 2t + {0, 1}] of offset [Ho, Wo, 2 k k] clamped to +-max_offset (pass INFINITY for none).
// out [rows, k*k*C].
void deform_im2col(const float* x, int64_t H, int64_t W, int64_t C, const float* offset, int k, int stride, int pad,
                   int dil, float max_offset, int64_t Wo, int64_t row0, int64_t rows, float* out);

}  // namespace vg::tracks::cuda
