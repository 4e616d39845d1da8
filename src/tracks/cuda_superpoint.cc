#include "tracks/cuda_superpoint.h"

#include <algorithm>

#include "core/error.h"
#include "tracks/cuda_keypoint_kernels.h"
#include "tracks/cuda_keypoint_ops.h"

namespace vg::tracks {

namespace {

constexpr int kCell = 8;

}  // namespace

CudaSuperPoint::CudaSuperPoint(const SuperPoint& net, Device device, cuda::Precision p)
    : opt_(net.options()), device_(device) {
  VG_CHECK(device.is_cuda(), "CudaSuperPoint: needs a CUDA device");
  set_current_device(device);
  for (int i = 0; i < 10; ++i) conv_[i] = cuda::Conv::upload(net.conv_weight(i), net.conv_bias(i), device, p);
}

Tensor CudaSuperPoint::dense_scores(const Tensor& image) const {
  check_superpoint_image(image, opt_, "CudaSuperPoint", false);
  set_current_device(device_);
  const Tensor img = cuda::image_on(image, device_);
  const int64_t H = image.size(1), W = image.size(2);
  Tensor x = Tensor::empty({1, H, W, 1}, DType::F32, device_);  // kornia rgb_to_grayscale
  cuda::image_to_gray(img.data<float>(), image.size(0), H, W, x.data<float>());
  for (int stage = 0; stage < 4; ++stage) {  // VGG encoder: (conv 3x3 + ReLU) x 2, 2x2 max pool after 1..3
    if (stage > 0) x = cuda::max_pool2d(x, 2, 2, 0);
    x = cuda::conv2d(x, conv_[2 * stage], 1, 1, cuda::Epilogue::kRelu);
    x = cuda::conv2d(x, conv_[2 * stage + 1], 1, 1, cuda::Epilogue::kRelu);
  }
  x = cuda::conv2d(x, conv_[8], 1, 1, cuda::Epilogue::kRelu);             // convPa
  const Tensor logits = cuda::conv2d(x, conv_[9], 1, 0);                   // convPb: [1, h, w, 65]
  const int64_t h = logits.size(1), w = logits.size(2);
  Tensor out = Tensor::empty({h * kCell, w * kCell}, DType::F32, device_);
  cuda::cell_softmax_to_pixels(logits.data<float>(), h, w, out.data<float>());
  return out;
}

Keypoints CudaSuperPoint::extract(const Tensor& image) const {
  const Tensor nms = cuda::simple_nms_map(dense_scores(image), opt_.nms_radius);
  const cuda::Candidates c = cuda::select_candidates(nms, opt_.remove_borders, opt_.detection_threshold);
  return rank_keypoints(c.idx, c.score, nms.size(1), opt_.max_keypoints);
}

}  // namespace vg::tracks
